"""Cost of LLM calls from token usage and model.

Precedence: a cost reported by the provider, then the user's overrides, then the optional
`genai-prices` package (extra ``pricing``). Unknown models and bad input give ``None``, never an
exception: cost is a nice-to-have on a span and must not break the user's LLM call.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from types import ModuleType
from typing import Any, Literal, NamedTuple

from agents_hub_monitoring._genai_pricing import GenaiPrice
from agents_hub_monitoring._providers import GENAI_PRICES_IDS, normalize_provider

__all__ = ["Cost", "CostSource", "ModelPrice", "PriceCalculator", "normalize_provider"]

log = logging.getLogger(__name__)

CostSource = Literal["provider", "override", "genai-prices"]
_PER = 1_000_000  # prices are USD per million tokens

def _check_rate(name: str, value: object, *, optional: bool) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"ModelPrice.{name} must be a number of USD per million tokens, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"ModelPrice.{name} must be finite and >= 0 (USD per million tokens), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ModelPrice:
    """Prices in USD per million tokens; cached rates default to the input rate when None."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            checked = _check_rate(f.name, getattr(self, f.name), optional=f.name.startswith("cache"))
            object.__setattr__(self, f.name, checked)  # frozen: store the float form

    @classmethod
    def from_mapping(cls, data: Mapping[str, float]) -> ModelPrice:
        allowed = {f.name for f in fields(cls)}
        unknown = set(data) - allowed
        if unknown or not {"input", "output"} <= set(data):
            raise ValueError(
                f"a price needs 'input' and 'output' (optional 'cached_input', 'cache_write'), "
                f"got keys {sorted(map(str, data))}"
            )
        return cls(**data)


@dataclass(frozen=True)
class Cost:
    """Cost of one LLM call. `input_amount` and `output_amount` are set when known."""

    amount: float
    source: CostSource
    currency: str = "USD"
    input_amount: float | None = None
    output_amount: float | None = None


class _Tokens(NamedTuple):  # genai-prices' usage keys; input includes cache reads and writes
    input_tokens: int | float
    output_tokens: int | float
    cache_read_tokens: int | float
    cache_write_tokens: int | float


def _token_count(value: object) -> int | float | None:
    """A valid count, 0 for None; None marks an invalid count (negative, NaN, not a number)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _tokens(inp: object, out: object, read: object, write: object) -> _Tokens | None:
    # Unrolled, without comprehensions: this runs on the caller's thread for every LLM call.
    i, o, r, w = _token_count(inp), _token_count(out), _token_count(read), _token_count(write)
    if i is None or o is None or r is None or w is None or (inp is None and out is None):
        return None
    # Some callers pass Anthropic's raw input_tokens, which excludes cache: never let the
    # uncached part go negative (genai-prices would raise on it).
    return _Tokens(max(i, r + w), o, r, w)  # type: ignore[operator, arg-type]


def _override_cost(price: ModelPrice, t: _Tokens) -> Cost:
    inp, out, read, write = t
    read_rate = price.input if price.cached_input is None else price.cached_input
    write_rate = price.input if price.cache_write is None else price.cache_write
    input_amount = ((inp - read - write) * price.input + read * read_rate + write * write_rate) / _PER
    output_amount = out * price.output / _PER
    return Cost(input_amount + output_amount, "override", "USD", input_amount, output_amount)


@lru_cache(maxsize=1)
def _import_genai_prices() -> ModuleType | None:
    try:
        import genai_prices
    except ImportError:
        log.debug("genai-prices is not installed: costs come only from overrides or the provider")
        return None
    return genai_prices


class PriceCalculator:
    """Prices LLM calls; the (provider, model) -> price resolution is memoised in an LRU."""

    def __init__(
        self,
        overrides: Mapping[str, ModelPrice | Mapping[str, float]] | None = None,
        use_genai_prices: bool = True,
        *,
        cache_size: int = 1024,
    ) -> None:
        self._by_model: dict[str, ModelPrice] = {}
        self._by_provider_model: dict[tuple[str, str], ModelPrice] = {}
        for key, value in (overrides or {}).items():
            self._add_override(key, value)
        self._use_genai_prices = use_genai_prices
        self._warm_up_started = False
        # Per instance so that two calculators with different overrides never share entries.
        self._resolve = lru_cache(maxsize=cache_size)(self._resolve_uncached)

    def warm_up_in_background(self) -> None:
        """Load genai-prices and its price data on a daemon thread, once.

        Called when the first LLM call starts: its price lookup happens when it ends, by which time
        the load (~85 ms here) is done, instead of being paid on the caller's thread inside the
        call. A process that never makes an LLM call never loads the data.
        """
        if self._warm_up_started or not self._use_genai_prices:
            return
        self._warm_up_started = True
        threading.Thread(target=self._warm_up, name="agents-hub-prices", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.cost(provider="openai", model="gpt-4o-mini", input_tokens=1, output_tokens=1)
        except Exception:  # best effort: a real lookup later reports its own problems
            log.debug("genai-prices warm-up failed", exc_info=True)

    def _add_override(self, key: object, value: object) -> None:
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"override keys must be model names, got {key!r}")
        if isinstance(value, Mapping):
            value = ModelPrice.from_mapping(value)
        if not isinstance(value, ModelPrice):
            raise ValueError(f"override for {key!r} must be a ModelPrice or a mapping, got {value!r}")
        name = key.strip().lower()
        self._by_model[name] = value  # model names may contain "/" themselves
        prefix, _, model = name.partition("/")
        if model and (provider := normalize_provider(prefix)):
            self._by_provider_model[(provider, model)] = value

    def cost(
        self,
        *,
        provider: str | None,
        model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read_input_tokens: int | None = None,
        cache_creation_input_tokens: int | None = None,
        reported_cost: float | None = None,
    ) -> Cost | None:
        """The call's cost in USD, or None when it cannot be known. Never raises."""
        if reported_cost is not None and _token_count(reported_cost) is not None:
            return Cost(float(reported_cost), "provider")  # NaN or negative: fall through
        tokens = _tokens(input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens)
        if tokens is None or not isinstance(model, str) or not model.strip():
            return None
        try:
            price = self._resolve(provider if isinstance(provider, str) else None, model)
            if isinstance(price, ModelPrice):
                return _override_cost(price, tokens)
            return _genai_cost(price, tokens) if price is not None else None
        except Exception:  # a pricing bug must never reach the user's call
            log.debug("pricing failed for provider=%r model=%r", provider, model, exc_info=True)
            return None

    def cache_info(self) -> Any:
        """Hits and misses of the (provider, model) resolution cache."""
        return self._resolve.cache_info()

    def _resolve_uncached(self, provider: str | None, model: str) -> Any:
        otel = normalize_provider(provider)
        name = model.strip().lower()
        price = self._by_provider_model.get((otel, name)) if otel else None
        if price := price or self._by_model.get(name):
            return price
        module = _import_genai_prices() if self._use_genai_prices else None
        if module is None:
            return None
        try:  # resolve once through the public API; later calls reuse its model and provider
            calc = module.calc_price(
                module.Usage(input_tokens=0, output_tokens=0),
                name,
                provider_id=GENAI_PRICES_IDS.get(otel, otel) if otel else None,
            )
        except Exception:
            log.debug("genai-prices has no price for provider=%r model=%r", provider, model, exc_info=True)
            return None  # cached too: unknown models stay cheap
        # Flat prices are then computed here, the same way; others call genai-prices' calc_price each time.
        return GenaiPrice(module, calc.model, calc.provider)


def _genai_cost(price: GenaiPrice, t: _Tokens) -> Cost:
    total, inp, out = price.price(*t)
    return Cost(float(total), "genai-prices", "USD", float(inp), float(out))
