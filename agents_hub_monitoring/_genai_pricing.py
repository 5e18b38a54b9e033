"""genai-prices behind ``PriceCalculator``: a resolved model, priced per call without ``calc_price`` when flat.

``ModelInfo.calc_price`` costs about 540 Python calls (~60 us) per LLM call, on the caller's thread: it
re-derives the priced units, validates them and decomposes the usage on every call. When a model's price
is one plain ``ModelPrice`` of Decimal rates (no tiers, no date or time-of-day conditions), all of that
depends on which rates exist, not on the call, so it is done once here; each call is then a few Decimal
operations performed in genai-prices' order, in the same decimal context, giving the same Decimals.
Anything else goes through ``calc_price``. ``tests/test_fast_paths.py`` checks the equivalence against
``calc_price`` for every model in the installed genai-prices data.

How genai-prices counts, for the usage we report (input, output, cache read and cache write tokens): each
priced unit is charged for its own usage value minus what the priced units below it are charged for. So
input tokens are charged net of cache reads and writes only when those have their own rate, "requests" is
1, and every other unit (audio, reasoning, 1h cache writes, web searches...) has no usage, so costs 0.
Zero amounts are skipped: adding a zero leaves a Decimal sum's value, hence its float, unchanged.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from types import ModuleType
from typing import Any, NamedTuple

__all__ = ["GenaiPrice", "PricedUsage"]

# Slots of the per-call counts: (input net of priced cache tokens, output, cache read, cache write, 1 request).
_SLOTS = {"input_tokens": 0, "output_tokens": 1, "cache_read_tokens": 2, "cache_write_tokens": 3, "requests": 4}
# calc_price rewrites the usage of these models (billed audio seconds) before pricing it.
_USAGE_REWRITTEN = frozenset({("groq", "whisper-large-v3"), ("groq", "whisper-large-v3-turbo")})


class PricedUsage(NamedTuple):
    total: Decimal
    input: Decimal
    output: Decimal


class _Unit(NamedTuple):
    slot: int
    price: Decimal
    per: int
    direction: str | None


@lru_cache(maxsize=1)
def _units_by_price_key() -> dict[str, tuple[str, int, str | None]]:
    """price key -> (usage key, per, direction), from genai-prices' public unit table."""
    from genai_prices.data_units import unit_data

    return {raw.get("price_key", usage_key): (usage_key, raw["per"], raw.get("dimensions", {}).get("direction"))
            for usage_key, raw in unit_data.items()}


def _flat_units(module: ModuleType, model: Any, provider: Any) -> tuple[tuple[_Unit, ...], bool, bool] | None:
    """The non-zero units of a flat price and whether cache reads / writes have their own rate; None when
    the price is conditional, tiered or anything calc_price would treat specially (warn, raise, rewrite)."""
    prices = model.prices
    if type(prices) is not module.types.ModelPrice or (provider.id, model.id) in _USAGE_REWRITTEN:
        return None
    known, units, usage_keys = _units_by_price_key(), [], set()
    for key, value in prices.__dict__.items():  # calc_price's order, which fixes the Decimal rounding
        if key.startswith("_") or value is None:
            continue
        if key not in known or type(value) is not Decimal or not value.is_finite() or value < 0:
            return None
        usage_key, per, direction = known[key]
        usage_keys.add(usage_key)
        if usage_key in _SLOTS:
            units.append(_Unit(_SLOTS[usage_key], value, per, direction))
    return tuple(units), "cache_read_tokens" in usage_keys, "cache_write_tokens" in usage_keys


class GenaiPrice:
    """A model and provider resolved by genai-prices; ``price`` gives the Decimal amounts of one call."""

    __slots__ = ("_module", "_net_read", "_net_write", "_units", "flat", "model", "provider")

    def __init__(self, module: ModuleType, model: Any, provider: Any) -> None:
        self._module, self.model, self.provider = module, model, provider
        flat = _flat_units(module, model, provider)
        self.flat = flat is not None
        self._units, self._net_read, self._net_write = flat or ((), False, False)

    def price(self, inp: float, out: float, read: float, write: float) -> PricedUsage:
        """Amounts for these token counts (input includes cache reads and writes, and is >= their sum)."""
        if self.flat and type(inp) is int and type(out) is int and type(read) is int and type(write) is int:
            return self._flat_price(inp, out, read, write)
        return self.price_with_calc_price(inp, out, read, write)

    def _flat_price(self, inp: int, out: int, read: int, write: int) -> PricedUsage:
        counts = (inp - (read if self._net_read else 0) - (write if self._net_write else 0), out, read, write, 1)
        total = input_amount = output_amount = Decimal(0)
        for slot, price, per, direction in self._units:
            amount = price * Decimal(counts[slot]) / per
            total += amount
            if direction == "input":
                input_amount += amount
            elif direction == "output":
                output_amount += amount
        return PricedUsage(total, input_amount, output_amount)

    def price_with_calc_price(self, inp: float, out: float, read: float, write: float) -> PricedUsage:
        """The amounts as genai-prices' ``calc_price`` gives them: the reference for the flat path."""
        usage = self._module.Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=read,
                                   cache_write_tokens=write)
        # Priced per call, not cached: time-of-day and tiered prices depend on the call.
        calc = self.model.calc_price(usage, self.provider)
        return PricedUsage(calc.total_price, calc.input_price, calc.output_price)
