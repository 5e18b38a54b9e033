"""The fast paths of redaction, pricing and ``dumps`` give exactly what the slower reference paths give.

Each fast path replaces library logic for the common case (clean text, flat prices, plain JSON); these
tests compare it with the reference on generated input, so that a change to the rules, to genai-prices'
data or to the walker that breaks the equivalence fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents_hub_monitoring._redaction_rules import PII_RULES, SECRET_RULES, Has, Rule
from agents_hub_monitoring.privacy import DEFAULT_NEVER_REDACT_KEYS, PrivacySettings, Redactor, Scrubber
from agents_hub_monitoring.redaction import _joined, _Screen
from agents_hub_monitoring.telemetry import semconv as sc

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# One sample per built-in rule kind (phone has three rules: one sample each).
SAMPLES = {
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "bearer_token": "Authorization: Bearer abc123def456ghi789",
    "basic_auth": "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    "password": "https://bob:s3cret@db.internal:5432/x",
    "anthropic_key": "sk-ant-api03-abcdefghijklmnopqrstuv12345",
    "langfuse_key": "pk-lf-1234abcd-aaaa-bbbb-cccc",
    "openai_key": "sk-proj-abc123DEF456ghi789JKL012mno",
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret": "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github_token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "slack_token": "xoxb-1234567890-abcdefghij",
    "google_api_key": "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "secret": '{"api_key": "hunter2"}',
    "email": "john.doe+tag@example.co.uk",
    "iban": "DE89 3704 0044 0532 0130 00",
    "credit_card": "4111-1111-1111-1111",
    "ssn": "123-45-6789",
    "ip_address": "192.168.1.10",
    "phone": "+44 20 7946 0958 (415) 555-2671 1-415-555-2671",
}
# Pieces that trip some trigger or screen without being a full secret, look-alikes of the markers, and
# characters whose case folding differs from ASCII (dotted I, Kelvin sign, long s) or that are lone surrogates.
FRAGMENTS = ["sk-", "key", "token", "=", ": ", "@", "://", "eyJ", "_", "ghp_", "Bearer ", "basic ", "AKIA", "AIza",
             "xox", "-", "(", ")", "+", ".", " ", "\n", "415", "555", "2671", "4111", "1", "DE89", "GB", "[REDACTED",
             "]", "\u0130", "to\u212aen=", "\u017fecret=", "é", "\ud800", "-----BEGIN"]  # case-folding oddities
texts = st.lists(st.one_of(st.sampled_from(list(SAMPLES.values())), st.sampled_from(FRAGMENTS),
                           st.text(max_size=12), st.text(alphabet="0123456789 .-+()@:=_/ABaz\n", max_size=16)),
                 max_size=8).map("".join)
REDACTORS = [Redactor(PrivacySettings(**kwargs)) for kwargs in (
    {}, {"redact_pii": False}, {"redact_secrets": False}, {"redact_pii": False, "redact_secrets": False},
    {"extra_patterns": (r"foo\d+", r"(?i)id=(?P<v>\w+)")}, {"redaction_text": "0000"},  # a marker of digits
    {"redaction_text": "***", "extra_patterns": ("x{3}",)},
)]


@FAST
@given(text=texts, index=st.integers(0, len(REDACTORS) - 1))
def test_screened_redaction_equals_the_full_rule_set(text: str, index: int) -> None:
    redactor = REDACTORS[index]
    assert redactor.redact_text(text) == redactor.redact_text_unscreened(text)


def test_every_builtin_rule_kind_has_a_sample_the_screen_passes_on() -> None:
    # A new rule needs a sample here, which then checks that the pre-check lets it through.
    assert {rule.kind for rule in (*SECRET_RULES, *PII_RULES)} == set(SAMPLES)
    redactor = REDACTORS[0]
    for kind, sample in SAMPLES.items():
        assert redactor._screen.may_redact(sample), kind
        assert f"[REDACTED:{kind}]" in redactor.redact_text(f"x {sample} y"), kind


@pytest.mark.parametrize("text", ["", "USD", "genai-prices", "Sunny, 21 degrees.", '{"query":"weather in Paris?"}',
                                  "3 results", "call me at noon", "version 1.2.3", "é" * 50])
def test_clean_text_skips_the_rules_and_comes_back_as_the_same_object(text: str) -> None:
    redactor = REDACTORS[0]
    assert not redactor._screen.may_redact(text) or not text
    assert redactor.redact_text(text) is text


@FAST
@given(text=st.lists(st.sampled_from(["4111", "1", "55", "0", "9", "-", " ", ".", "+", "(", ")", "DE", "89", "2671",
                                      "415", "A", "x"]), max_size=14).map("".join))
def test_each_screen_matches_wherever_its_rule_does(text: str) -> None:
    combined = REDACTORS[0]._screen._pattern
    assert combined is not None
    for rule in (*SECRET_RULES, *PII_RULES):
        if rule.screen is not None and rule.pattern.search(text):
            assert re.search(rule.screen, text) and combined.search(text), (rule.kind, text)


def test_a_rule_the_screen_cannot_vouch_for_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="needs a Has trigger or a screen"):
        _Screen([Rule("always", "abc")])
    with pytest.raises(ValueError, match="one plain character class"):
        _joined(["[0-9]{3}-x"])  # a quantified first class cannot become a look-behind
    assert _Screen([Rule("x", "abc", Has("abc", requires=":"))]).may_redact("a:abc")


def test_values_this_package_sets_and_numbers_are_not_scanned() -> None:
    assert {sc.OUTCOME, sc.GEN_AI_USAGE_COST_CURRENCY, sc.GEN_AI_USAGE_COST_SOURCE} <= DEFAULT_NEVER_REDACT_KEYS
    scrubber = Scrubber()
    attributes = {sc.OUTCOME: "success", sc.GEN_AI_USAGE_COST_SOURCE: "genai-prices", "n": 4111111111111111,
                  "f": 1.5, "b": True, "free": "mail bob@example.com", "list": ("a", "bob@example.com")}
    scrubbed, changed = scrubber._scrub(attributes)
    assert changed
    assert scrubbed == {**attributes, "free": "mail [REDACTED:email]", "list": ("a", "[REDACTED:email]")}
    assert scrubber._scrub({k: v for k, v in attributes.items() if k not in ("free", "list")})[1] is False


def _reference_scrub(scrubber: Scrubber, attributes: dict[str, Any]) -> dict[str, Any]:
    """What ``Scrubber._scrub`` does, one plain helper per plan: the reference for its inlined loop."""
    from agents_hub_monitoring import privacy
    from agents_hub_monitoring.redaction import map_strings

    handlers = {privacy._SCAN: scrubber._scrub_text, privacy._KEEP: scrubber._cut_text,
                privacy._CONTENT: scrubber._scrub_content_text}
    scrubbed = {}
    for key, value in attributes.items():
        plan = scrubber._plan(key)
        if plan == privacy._DROP:
            continue
        if plan == privacy._PSEUDONYM:
            scrubbed[key] = privacy.pseudonymize(str(value), scrubber.settings.pseudonymization_key or "")
        elif plan == privacy._SECRET:
            scrubbed[key] = value if type(value) is bool else "[REDACTED:secret]"
        else:
            scrubbed[key] = map_strings(value, handlers[plan])
    return scrubbed


ATTRIBUTE_KEYS = ["note", "agents_hub.metadata.password", "gen_ai.usage.input_tokens", "gen_ai.request.model",
                  "gen_ai.input.messages", "user.id", "agents_hub.tags", "other.dropped"]
attribute_values = st.one_of(texts, st.integers(-5, 10**20), st.floats(allow_nan=False), st.booleans(),
                             st.lists(texts, max_size=3), st.lists(texts, max_size=3).map(tuple))
SCRUBBERS = [Scrubber(PrivacySettings(max_attribute_chars=24, max_content_chars=40, **kwargs)) for kwargs in (
    {}, {"capture_content": False}, {"redact_secrets": False, "pseudonymize_ids": True, "pseudonymization_key": "k"},
    {"allowed_attributes": frozenset(ATTRIBUTE_KEYS[:-1])}, {"never_redact_keys": frozenset({"note"})},
)]


@FAST
@given(attributes=st.dictionaries(st.sampled_from(ATTRIBUTE_KEYS), attribute_values, max_size=8),
       index=st.integers(0, len(SCRUBBERS) - 1))
def test_inlined_scrub_loop_equals_the_per_plan_helpers(attributes: dict[str, Any], index: int) -> None:
    scrubber = SCRUBBERS[index]
    scrubbed, changed = scrubber._scrub(attributes)
    assert scrubbed == _reference_scrub(scrubber, attributes)
    assert changed == (scrubbed != attributes)
    for key, value in scrubbed.items():  # every string within its limit, markers included
        limit = {"gen_ai.input.messages": 40, "user.id": 34}.get(key, 24)  # content; a pseudonym is 34 chars
        assert all(len(text) <= limit for text in ([value] if isinstance(value, str) else
                                                   value if isinstance(value, (list, tuple)) else []))


def test_plans_are_cached_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents_hub_monitoring import privacy

    monkeypatch.setattr(privacy, "_MAX_PLANS", 2)
    scrubber = Scrubber()
    attributes = {f"agents_hub.metadata.k{i}": "mail a@example.com" for i in range(4)}
    attributes["agents_hub.metadata.token"] = "t0k3n"
    expected = {**dict.fromkeys(list(attributes)[:4], "mail [REDACTED:email]"),
                "agents_hub.metadata.token": "[REDACTED:secret]"}
    for _ in range(2):  # the second time, three keys are planned again: same result
        assert scrubber.scrub_attributes(attributes) == expected
    assert len(scrubber._plans) == 2


# --- pricing: flat genai-prices models priced locally ------------------------------------------------
TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
TOKENS = [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (1000, 500, 0, 0), (10_000, 800, 6000, 1000), (7, 3, 7, 0),
          (5, 0, 0, 5), (10**12, 10**12, 10**11, 10**11), (123_456_789, 987_654_321, 1_234_567, 7_654_321),
          (2**63 - 1, 2**62, 2**40, 2**41)]


def test_flat_prices_equal_calc_price_for_every_model_in_the_data() -> None:
    genai_prices = pytest.importorskip("genai_prices")
    from genai_prices.data_snapshot import get_snapshot

    from agents_hub_monitoring._genai_pricing import GenaiPrice

    flat = 0
    for provider in get_snapshot().providers:
        for model in provider.models:
            try:  # what PriceCalculator's resolution does: a model failing it is never priced
                model.calc_price(genai_prices.Usage(input_tokens=0, output_tokens=0), provider)
            except Exception:
                continue
            price = GenaiPrice(genai_prices, model, provider)
            flat += price.flat
            for tokens in TOKENS if price.flat else ():
                theirs = model.calc_price(genai_prices.Usage(**dict(zip(TOKEN_KEYS, tokens, strict=True))), provider)
                expected = (theirs.total_price, theirs.input_price, theirs.output_price)
                assert price.price(*tokens) == expected, (provider.id, model.id, tokens)  # Decimal-exact
    assert flat > 1000  # most of the data: the fast path is the common case


@FAST
@given(counts=st.tuples(*[st.integers(0, 10**15)] * 4))
def test_calculator_costs_equal_genai_prices_for_any_token_counts(counts: tuple[int, int, int, int]) -> None:
    genai_prices = pytest.importorskip("genai_prices")
    from agents_hub_monitoring.pricing import PriceCalculator

    inp, out, read, write = counts
    inp = max(inp, read + write)  # what the calculator does with raw Anthropic counts
    for provider, model in (("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-sonnet")):
        cost = PriceCalculator().cost(provider=provider, model=model, input_tokens=inp, output_tokens=out,
                                      cache_read_input_tokens=read, cache_creation_input_tokens=write)
        usage = genai_prices.Usage(**dict(zip(TOKEN_KEYS, (inp, out, read, write), strict=True)))
        theirs = genai_prices.calc_price(usage, model, provider_id=provider)
        assert cost is not None
        assert (cost.amount, cost.input_amount, cost.output_amount) == (
            float(theirs.total_price), float(theirs.input_price), float(theirs.output_price))


def test_flat_models_skip_calc_price_and_conditional_ones_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    genai_prices = pytest.importorskip("genai_prices")
    from agents_hub_monitoring.pricing import PriceCalculator

    calc = PriceCalculator()
    for model in ("gpt-4o-mini", "deepseek-chat"):  # resolved before calc_price breaks
        assert calc.cost(provider=None, model=model, input_tokens=1, output_tokens=1) is not None
    monkeypatch.setattr(genai_prices.types.ModelInfo, "calc_price", lambda *a, **k: 1 / 0)
    assert calc._resolve(None, "gpt-4o-mini").flat and not calc._resolve(None, "deepseek-chat").flat
    assert calc.cost(provider=None, model="gpt-4o-mini", input_tokens=1, output_tokens=1) is not None
    assert calc.cost(provider=None, model="gpt-4o-mini", input_tokens=1.5, output_tokens=1) is None  # not ints
    assert calc.cost(provider=None, model="deepseek-chat", input_tokens=1, output_tokens=1) is None


# --- dumps: plain JSON straight from the C encoder -----------------------------------------------------
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(),
                         st.text(st.characters(exclude_categories=()), max_size=12))  # with lone surrogates
json_values = st.recursive(json_scalars, lambda children: st.one_of(
    st.lists(children, max_size=5), st.lists(children, max_size=5).map(tuple),
    st.dictionaries(st.text(st.characters(exclude_categories=()), max_size=6), children, max_size=5)),
    max_leaves=30)


@FAST
@given(value=json_values, limit=st.sampled_from([0, 1, 10, 40, 200, 10_000]))
def test_dumps_fast_path_equals_the_walker(value: Any, limit: int) -> None:
    from agents_hub_monitoring.serialization import _dumps_walked, dumps

    assert dumps(value, limit=limit) == _dumps_walked(value, limit)


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(("value", "fast"), [
    ({"query": "weather in Paris?", "n": 3, "x": 1.5, "ok": True, "none": None}, True),
    ([{"role": "user", "parts": [{"type": "text", "content": "Où ? 東京"}]}], True),
    (("a", 1), True), (list(range(100)), True), (list(range(101)), False), (_nested(8), True), (_nested(9), False),
    ([2**63 - 1, -(2**63)], True), ([2**63], False), ([float("nan")], False), (["\ud800"], False),
    ({"\udfff": 1}, False), ({1: "a"}, False), ([b"x"], False), (["x" * 20_000], False),
])
def test_dumps_fast_path_takes_plain_values_only(value: Any, fast: bool) -> None:
    from agents_hub_monitoring.serialization import _dumps_walked, _plain_json, dumps

    assert (_plain_json(value, 10_000) is not None) is fast
    assert dumps(value) == _dumps_walked(value, 10_000)


def test_dumps_fast_path_bails_out_cheaply_on_self_reference() -> None:
    from agents_hub_monitoring.serialization import _dumps_walked, _plain_json, dumps

    loop: list[Any] = []
    loop.extend([loop] * 100)  # 100**8 paths to the depth limit: the value budget stops the check first
    assert _plain_json(loop, 10_000) is None
    assert dumps(loop) == _dumps_walked(loop, 10_000)


# Strings around to_jsonable's 10,000-char limit: the fast copy must leave the cutting to the walker.
long_texts = st.integers(9_998, 10_002).map(lambda size: "a" * size)
message_values = st.one_of(st.none(), st.text(max_size=40), long_texts, st.integers(), st.floats(allow_nan=True),
                           st.lists(st.text(max_size=5), max_size=2))


@FAST
@given(message=st.dictionaries(st.one_of(st.text(max_size=10), st.integers(0, 3)), message_values, max_size=5))
def test_llm_message_fast_copy_equals_to_jsonable(message: dict[Any, Any]) -> None:
    from agents_hub_monitoring.serialization import to_jsonable
    from agents_hub_monitoring.telemetry.usage import _plain_message

    copied = _plain_message(message)
    assert copied == to_jsonable(message)
    assert copied is not message  # a copy: read_llm_result adds finish_reason to it


def test_text_shorter_than_any_rule_can_match_skips_the_screen_soundly() -> None:
    from agents_hub_monitoring.redaction import _shortest_match

    assert [_shortest_match(re.compile(p)) for p in ("ab+c", "x?", r"\d{3}-\d{2}", "(?i)key=[a-z]+")] == [3, 0, 6, 5]
    screen = _Screen([*SECRET_RULES, *PII_RULES])
    assert screen._min_length > 0
    for rule in [*SECRET_RULES, *PII_RULES]:  # every real match of every rule is at least that long
        for sample in SAMPLES.values():
            for match in rule.pattern.finditer(sample):
                assert len(match.group(0)) >= screen._min_length, (rule.kind, match.group(0))
