"""Tests for agents_hub_monitoring.pricing: real genai-prices data, overrides, precedence, bad input."""

from __future__ import annotations

import dataclasses
import math

import pytest

from agents_hub_monitoring import pricing
from agents_hub_monitoring.pricing import Cost, ModelPrice, PriceCalculator, normalize_provider

MTOK = 1_000_000


@pytest.fixture
def genai_prices():
    return pytest.importorskip("genai_prices")


def rates(genai_prices, model: str, provider_id: str | None = None):
    """The model's prices as genai-prices itself has them (USD per million tokens)."""
    usage = genai_prices.Usage(input_tokens=0, output_tokens=0)
    mp = genai_prices.calc_price(usage, model, provider_id=provider_id).model_price
    return {k: float(getattr(mp, k) or 0) for k in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")}


def test_gpt_4o_priced_from_genai_prices_data(genai_prices):
    r = rates(genai_prices, "gpt-4o", "openai")
    cost = PriceCalculator().cost(provider="openai", model="gpt-4o", input_tokens=1000, output_tokens=500)
    assert cost is not None and cost.source == "genai-prices" and cost.currency == "USD"
    assert cost.input_amount == pytest.approx(1000 * r["input_mtok"] / MTOK)
    assert cost.output_amount == pytest.approx(500 * r["output_mtok"] / MTOK)
    assert cost.amount == pytest.approx(cost.input_amount + cost.output_amount)


def test_claude_cached_tokens_priced_at_cache_rates_and_subtracted_from_input(genai_prices):
    r = rates(genai_prices, "claude-3-5-sonnet", "anthropic")
    assert r["cache_read_mtok"] < r["input_mtok"] < r["cache_write_mtok"]  # the test means something
    cost = PriceCalculator().cost(
        provider="AnthropicProvider",  # what agents_hub passes: llm.__class__.__name__
        model="claude-3-5-sonnet",
        input_tokens=10_000,  # includes the 6000 read from and 1000 written to the cache
        output_tokens=800,
        cache_read_input_tokens=6000,
        cache_creation_input_tokens=1000,
    )
    expected_input = (3000 * r["input_mtok"] + 6000 * r["cache_read_mtok"] + 1000 * r["cache_write_mtok"]) / MTOK
    assert cost is not None
    assert cost.input_amount == pytest.approx(expected_input)
    assert cost.amount == pytest.approx(expected_input + 800 * r["output_mtok"] / MTOK)


def test_cache_larger_than_input_is_clamped_not_raised(genai_prices):
    # Anthropic's raw usage excludes cache from input_tokens; genai-prices would raise on it.
    r = rates(genai_prices, "claude-3-5-sonnet", "anthropic")
    cost = PriceCalculator().cost(
        provider="claude",
        model="claude-3-5-sonnet",
        input_tokens=10,
        output_tokens=0,
        cache_read_input_tokens=5000,
    )
    assert cost is not None and cost.amount == pytest.approx(5000 * r["cache_read_mtok"] / MTOK)


@pytest.mark.parametrize(
    ("otel", "genai_id", "model"),
    [
        ("openai", "openai", "gpt-4o"),
        ("azure.ai.openai", "azure", "gpt-4o"),
        ("aws.bedrock", "aws", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ("gcp.gemini", "google", "gemini-2.5-flash"),
        ("gcp.vertex_ai", "google", "gemini-2.5-flash"),
        ("mistral_ai", "mistral", "mistral-large-latest"),
        ("x_ai", "x-ai", "grok-3"),
        ("groq", "groq", "llama-3.3-70b-versatile"),
        ("cohere", "cohere", "command-r-plus"),
        (None, None, "gpt-4o"),  # genai-prices guesses the provider from the model
    ],
)
def test_otel_provider_names_map_to_genai_prices_ids(genai_prices, otel, genai_id, model):
    usage = genai_prices.Usage(input_tokens=2000, output_tokens=300)
    expected = float(genai_prices.calc_price(usage, model, provider_id=genai_id).total_price)
    cost = PriceCalculator().cost(provider=otel, model=model, input_tokens=2000, output_tokens=300)
    assert cost is not None and cost.amount > 0
    assert cost.amount == pytest.approx(expected)


def test_deepseek_time_dependent_prices_resolve(genai_prices):
    cost = PriceCalculator().cost(provider="deepseek", model="deepseek-chat", input_tokens=100, output_tokens=10)
    assert cost is not None and cost.amount > 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("OpenAIProvider", "openai"),
        ("AnthropicProvider", "anthropic"),
        ("ClaudeProvider", "anthropic"),
        ("claude", "anthropic"),
        ("gemini", "gcp.gemini"),
        ("GeminiProvider", "gcp.gemini"),
        ("AsyncOpenAI", "openai"),
        ("AzureOpenAI", "azure.ai.openai"),
        ("aws.bedrock", "aws.bedrock"),
        ("gcp.vertex_ai", "gcp.vertex_ai"),
        ("MistralProvider", "mistral_ai"),
        ("GrokProvider", "x_ai"),
        ("OllamaProvider", "ollama"),
        ("LiteLLM", "litellm"),
        ("together-ai", "together-ai"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_normalize_provider(name, expected):
    assert normalize_provider(name) == expected


def test_override_beats_genai_prices_and_matches_case_insensitively():
    calc = PriceCalculator({"GPT-4o": {"input": 2.0, "output": 8.0, "cached_input": 0.5}})
    cost = calc.cost(
        provider="openai", model="gpt-4O", input_tokens=1_000, output_tokens=100, cache_read_input_tokens=400
    )
    assert cost == Cost(
        (600 * 2.0 + 400 * 0.5 + 100 * 8.0) / MTOK,
        "override",
        input_amount=(600 * 2.0 + 400 * 0.5) / MTOK,
        output_amount=100 * 8.0 / MTOK,
    )


def test_override_cache_rates_default_to_input_rate():
    calc = PriceCalculator({"m": ModelPrice(input=3, output=0)}, use_genai_prices=False)
    cost = calc.cost(
        provider=None,
        model="m",
        input_tokens=100,
        output_tokens=None,
        cache_read_input_tokens=40,
        cache_creation_input_tokens=10,
    )
    assert cost is not None and cost.amount == pytest.approx(100 * 3 / MTOK)


def test_provider_model_override_key_applies_to_that_provider_only():
    calc = PriceCalculator({"openai/my-model": ModelPrice(1.0, 1.0)}, use_genai_prices=False)
    kwargs = {"model": "my-model", "input_tokens": MTOK, "output_tokens": 0}
    assert calc.cost(provider="OpenAIProvider", **kwargs) == Cost(1.0, "override", input_amount=1.0, output_amount=0.0)
    assert calc.cost(provider="anthropic", **kwargs) is None
    # The full key also matches a model name that carries the prefix (LiteLLM style).
    assert calc.cost(provider=None, model="openai/my-model", input_tokens=MTOK, output_tokens=0) is not None


def test_provider_reported_cost_wins_and_bad_reported_cost_falls_through():
    calc = PriceCalculator({"m": ModelPrice(1.0, 1.0)})
    kwargs = {"provider": "openai", "model": "m", "input_tokens": MTOK, "output_tokens": 0}
    assert calc.cost(**kwargs, reported_cost=0.25) == Cost(0.25, "provider")
    assert calc.cost(**kwargs, reported_cost=0) == Cost(0.0, "provider")
    # Even without tokens or model: the provider knows best.
    assert calc.cost(provider=None, model=None, input_tokens=None, output_tokens=None, reported_cost=1.5)
    for bad in (math.nan, -1.0, math.inf):
        cost = calc.cost(**kwargs, reported_cost=bad)
        assert cost is not None and cost.source == "override"


def test_unknown_model_or_missing_model_gives_none(genai_prices):
    calc = PriceCalculator()
    assert calc.cost(provider="openai", model="no-such-model-xyz", input_tokens=1, output_tokens=1) is None
    assert calc.cost(provider="no-such-provider", model="gpt-4o", input_tokens=1, output_tokens=1) is None
    assert calc.cost(provider=None, model="no-such-model-xyz", input_tokens=1, output_tokens=1) is None
    assert calc.cost(provider="openai", model=None, input_tokens=1, output_tokens=1) is None
    assert calc.cost(provider="openai", model="  ", input_tokens=1, output_tokens=1) is None


@pytest.mark.parametrize(
    "tokens",
    [
        {"input_tokens": None, "output_tokens": None},
        {"input_tokens": math.nan, "output_tokens": 10},
        {"input_tokens": -5, "output_tokens": 10},
        {"input_tokens": 10, "output_tokens": math.inf},
        {"input_tokens": True, "output_tokens": 10},
        {"input_tokens": "10", "output_tokens": 10},
        {"input_tokens": 10, "output_tokens": 10, "cache_read_input_tokens": -1},
    ],
)
def test_missing_or_invalid_tokens_give_none(tokens):
    calc = PriceCalculator({"m": ModelPrice(1.0, 1.0)})
    assert calc.cost(provider=None, model="m", **tokens) is None


def test_zero_and_one_sided_token_counts_are_priced():
    calc = PriceCalculator({"m": ModelPrice(1.0, 2.0)}, use_genai_prices=False)
    assert calc.cost(provider=None, model="m", input_tokens=0, output_tokens=0).amount == 0.0
    assert calc.cost(provider=None, model="m", input_tokens=None, output_tokens=MTOK).amount == 2.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"m": {"input": -1, "output": 1}}, "input must be finite and >= 0"),
        ({"m": {"input": 1, "output": math.nan}}, "output must be finite"),
        ({"m": {"input": 1, "output": 1, "cached_input": -0.1}}, "cached_input"),
        ({"m": {"input": 1}}, "needs 'input' and 'output'"),
        ({"m": {"input": 1, "output": 1, "outptu": 2}}, "got keys"),
        ({"m": {"input": "1", "output": 1}}, "must be a number"),
        ({"m": 3.0}, "must be a ModelPrice or a mapping"),
        ({"": {"input": 1, "output": 1}}, "override keys must be model names"),
    ],
)
def test_bad_override_raises_value_error_at_construction(overrides, message):
    with pytest.raises(ValueError, match=message):
        PriceCalculator(overrides)


def test_model_price_validation_and_coercion():
    price = ModelPrice(1, 2, cached_input=0)
    assert price == ModelPrice(1.0, 2.0, 0.0) and isinstance(price.input, float)
    with pytest.raises(ValueError, match="cache_write"):
        ModelPrice(1, 2, cache_write=math.nan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        price.input = 5.0  # type: ignore[misc]


def test_genai_prices_raising_gives_none(genai_prices, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("broken price data")

    monkeypatch.setattr(genai_prices, "calc_price", boom)
    assert PriceCalculator().cost(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1) is None


def test_genai_prices_raising_while_pricing_a_resolved_model_gives_none(genai_prices, monkeypatch):
    # deepseek-chat has time-of-day prices, so each call goes through calc_price (flat prices do not:
    # tests/test_fast_paths.py).
    calc = PriceCalculator()
    assert calc.cost(provider="deepseek", model="deepseek-chat", input_tokens=1, output_tokens=1) is not None
    monkeypatch.setattr(genai_prices.types.ModelInfo, "calc_price", lambda *a, **k: 1 / 0)
    assert calc.cost(provider="deepseek", model="deepseek-chat", input_tokens=1, output_tokens=1) is None


def test_without_genai_prices_only_overrides_price(monkeypatch):
    monkeypatch.setattr(pricing, "_import_genai_prices", lambda: None)
    calc = PriceCalculator({"m": ModelPrice(1.0, 1.0)})
    assert calc.cost(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1) is None
    assert calc.cost(provider="openai", model="m", input_tokens=1, output_tokens=1) is not None
    disabled = PriceCalculator(use_genai_prices=False)
    assert disabled.cost(provider="openai", model="gpt-4o", input_tokens=1, output_tokens=1) is None


def test_resolution_is_memoised_per_provider_and_model(genai_prices, monkeypatch):
    calls: list[str] = []
    real = genai_prices.calc_price

    def counting(usage, model_ref, **kwargs):
        calls.append(model_ref)
        return real(usage, model_ref, **kwargs)

    monkeypatch.setattr(genai_prices, "calc_price", counting)
    calc = PriceCalculator()
    costs = {calc.cost(provider="openai", model="gpt-4o", input_tokens=i, output_tokens=1) for i in range(50)}
    for _ in range(50):  # unknown models are remembered too
        calc.cost(provider="openai", model="no-such-model-xyz", input_tokens=1, output_tokens=1)
    assert len(costs) == 50  # still priced per call
    assert calls == ["gpt-4o", "no-such-model-xyz"]
    assert calc.cache_info().hits == 98


def test_the_first_llm_call_loads_the_price_data_in_the_background():
    import threading

    from agents_hub_monitoring import BaseMonitor
    from agents_hub_monitoring.pricing import _import_genai_prices

    def warm_ups() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "agents-hub-prices"]

    _import_genai_prices.cache_clear()
    monitor = BaseMonitor()
    with monitor.tool_call("no prices needed"):
        pass
    assert monitor._pricing._warm_up_started is False  # nothing loaded for processes without LLM calls
    with monitor.llm_call("gpt-4o-mini"):
        assert monitor._pricing._warm_up_started is True  # started when the call starts, not at its end
        for thread in warm_ups():
            thread.join(30)
        assert _import_genai_prices.cache_info().currsize == 1  # imported off the caller's thread
    monitor.shutdown()
