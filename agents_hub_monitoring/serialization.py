"""Turn any Python value into something a span attribute (or JSON) can hold, without ever raising.

Rules of ``to_jsonable`` (instrumentations and backends rely on them):

* str / int / bool / None pass through. Strings over ``max_string`` keep their first ``max_string`` chars
  plus ``"…[truncated N chars]"``; lone surrogates become U+FFFD (they are not UTF-8 encodable and
  would make the OTLP exporter fail the whole batch). Ints outside int64 become decimal strings.
* floats: NaN -> ``"NaN"``, inf -> ``"Infinity"``, -inf -> ``"-Infinity"`` (JSON has no such numbers).
* bytes / bytearray / memoryview -> ``"<bytes len=N sha256=<16 hex>>"``, never the content: bytes are
  usually images or audio that would bloat spans, and the digest still correlates payloads.
* datetime / date / time -> ISO 8601; timedelta -> seconds; Decimal, UUID, Path -> str; Enum -> value.
* exceptions -> ``{"type": "module.Qualname" (bare for builtins), "message": str(exc)}``.
* mappings -> dict, keys coerced to str (non-str keys JSON-encoded: ``1`` -> ``"1"``, None -> ``"null"``).
* dataclass instances -> dict of fields, skipping ``field(repr=False)`` ones (usually secrets).
* pydantic v2/v1 models (duck-typed ``model_dump()`` / ``dict()`` returning a dict) -> that dict.
* sequences -> list; sets, frozensets and dict-key views -> list sorted by repr (deterministic).
  Only ``max_items`` items are kept, then ``"…[N more items]"`` (mappings: entry ``"…": "…[N more items]"``).
  Iterators and generators are never consumed.
* a container met again inside itself -> ``"<cycle>"``; deeper than ``max_depth`` -> ``"<max depth>"``.
* anything else -> its repr (cut like strings), or ``"<unrepresentable Qualname>"`` when repr raises.

Only ``Exception`` is swallowed: KeyboardInterrupt and SystemExit belong to the host and propagate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import operator
import re
from collections.abc import Mapping, Sequence, ValuesView
from collections.abc import Set as AbstractSet
from decimal import Decimal
from enum import Enum
from itertools import islice
from pathlib import PurePath
from typing import Any
from uuid import UUID

__all__ = [
    "CYCLE_MARKER", "MAX_DEPTH_MARKER", "MAX_ID_CHARS", "TRUNCATION_PREFIX", "coerce_float",
    "coerce_id", "coerce_token_count", "dumps", "safe_repr", "to_jsonable", "truncate_text",
]

CYCLE_MARKER = "<cycle>"
MAX_DEPTH_MARKER = "<max depth>"
TRUNCATION_PREFIX = "…[truncated"
MAX_ID_CHARS = 200

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SURROGATES = re.compile("[\ud800-\udfff]")
_NOT_A_MODEL = object()
_CONTAINERS = (Mapping, Sequence, AbstractSet, ValuesView)


def _clean_text(text: str) -> str:
    return text if text.isascii() else _SURROGATES.sub("\ufffd", text)  # isascii() is a very cheap scan


def _fit(text: str, limit: int, *, count_known: bool = True, already_dropped: int = 0) -> str:
    """Cut ``text`` so that kept text plus marker is at most ``limit`` chars."""
    if len(text) <= limit and not already_dropped:
        return text
    dropped = len(text) - limit + already_dropped
    for _ in range(3):  # the marker's length depends on the count it shows: converges in two rounds
        marker = f"{TRUNCATION_PREFIX} {dropped} chars]" if count_known else f"{TRUNCATION_PREFIX}]"
        kept = min(max(limit - len(marker), 0), len(text))
        dropped = len(text) - kept + already_dropped
    return (text[:kept] + marker)[: max(limit, 0)]


def truncate_text(text: str, limit: int, *, already_dropped: int = 0) -> str:
    """``text`` cut to at most ``limit`` chars, ending with ``"…[truncated N chars]"`` when cut.
    ``already_dropped``: chars the caller removed beforehand (counted in N, and forces the marker)."""
    return _fit(_clean_text(text), limit, already_dropped=already_dropped)


def _type_name(value: Any, *, qualified: bool = False) -> str:
    try:
        kind = type(value)
        if qualified and kind.__module__ not in (None, "builtins"):
            return f"{kind.__module__}.{kind.__qualname__}"
        return str(kind.__qualname__)
    except Exception:
        return "object"


def _repr_or_marker(value: Any) -> tuple[str, bool]:
    """``(repr, True)``, or ``("<unrepresentable Qualname>", False)`` when repr raises."""
    try:
        return _clean_text(repr(value)), True
    except Exception:
        return f"<unrepresentable {_type_name(value)}>", False


def safe_repr(value: Any, limit: int = 200) -> str:
    """repr cut to at most ``limit`` chars (marker included), or ``"<unrepresentable Qualname>"``."""
    text, _ = _repr_or_marker(value)
    return _fit(text, limit)


def _jsonable_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _exact_builtin(value: str | int | float) -> str | int | float:
    """Plain str/int/float of a subclass (whose dunders may lie or raise); ints beyond int64 as text."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return float.__float__(value)
    number = int.__index__(value)
    if _INT64_MIN <= number <= _INT64_MAX:
        return number
    try:
        return str(number)
    except ValueError:  # over sys.get_int_max_str_digits()
        return f"<int of {number.bit_length()} bits>"


def _describe_bytes(value: bytes | bytearray | memoryview) -> str:
    data = value.tobytes() if isinstance(value, memoryview) else bytes(value)
    return f"<bytes len={len(data)} sha256={hashlib.sha256(data).hexdigest()[:16]}>"


def _model_dump(value: Any) -> Any:
    """The dict of a pydantic v2/v1 model (duck-typed, pydantic is never imported), else _NOT_A_MODEL."""
    if isinstance(value, type):
        return _NOT_A_MODEL
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump(mode="json")
        except Exception:  # unserialisable field types, or a look-alike without ``mode``
            dumped = dump()
    elif hasattr(value, "__fields__") and callable(getattr(value, "dict", None)):
        dumped = value.dict()
    else:
        return _NOT_A_MODEL
    return dumped if isinstance(dumped, dict) else _NOT_A_MODEL  # mocks answer every attribute


class _Walker:
    """One conversion: the limits, the containers being converted (cycles) and the output budget."""

    def __init__(self, max_depth: int, max_items: int, max_string: int, budget: int | None = None) -> None:
        self.max_depth, self.max_items, self.max_string = max_depth, max(max_items, 0), max(max_string, 0)
        self.budget = budget  # lower bound of output chars still worth producing (dumps only)
        self.lossy = False  # something was cut or skipped, so the full output length is unknown
        self._active: set[int] = set()

    def convert(self, value: Any, depth: int) -> Any:
        try:
            result = self._convert(value, depth)
        except Exception:
            result = self.repr_text(value)
        if self.budget is not None:
            self.budget -= len(result) if isinstance(result, str) else 1
            self.lossy = self.lossy or self.budget < 0
        return result

    def text(self, value: str) -> str:
        value = _clean_text(value)
        if len(value) <= self.max_string:
            return value
        self.lossy = True
        return f"{value[: self.max_string]}{TRUNCATION_PREFIX} {len(value) - self.max_string} chars]"

    def repr_text(self, value: Any) -> str:
        text, ok = _repr_or_marker(value)
        return self.text(text) if ok else text

    def _convert(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value)
        if value is None or kind is bool or (kind is int and _INT64_MIN <= value <= _INT64_MAX):
            return value
        if kind is float:
            return _jsonable_float(value)
        if isinstance(value, Enum):
            return self._convert(value.value, depth)  # not convert(): the budget must count it once
        if isinstance(value, (str, int, float)):
            return self._convert(_exact_builtin(value), depth)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _describe_bytes(value)
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return value.isoformat()
        if isinstance(value, dt.timedelta):
            return value.total_seconds()
        if isinstance(value, (Decimal, UUID, PurePath)):
            return self.text(str(value))
        if isinstance(value, BaseException):
            return {"type": _type_name(value, qualified=True), "message": self.text(str(value))}
        dumped = _model_dump(value)
        return self._nested(value, value if dumped is _NOT_A_MODEL else dumped, depth)

    def _nested(self, original: Any, value: Any, depth: int) -> Any:
        if id(original) in self._active:
            return CYCLE_MARKER
        is_dataclass = dataclasses.is_dataclass(value) and not isinstance(value, type)
        if not (is_dataclass or isinstance(value, _CONTAINERS)):
            return self.repr_text(value)
        if depth >= self.max_depth:
            self.lossy = True
            return MAX_DEPTH_MARKER
        self._active.add(id(original))
        try:
            if isinstance(value, Mapping):
                return self._mapping(value.items(), len(value), depth + 1)
            if is_dataclass:
                fields = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr]
                return self._mapping(fields, len(fields), depth + 1)
            if isinstance(value, AbstractSet):
                value = sorted(value, key=lambda item: _repr_or_marker(item)[0])
            return self._sequence(value, depth + 1)
        finally:
            self._active.discard(id(original))

    def _mapping(self, items: Any, total: int, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in islice(items, self.max_items):
            if self.budget is not None and self.budget < 0:
                return result  # dumps will cut the output before this point anyway
            result[self._key(key)] = self.convert(item, depth)
        if total > len(result):
            result["…"] = self._more_items(total - len(result))
        return result

    def _sequence(self, items: Any, depth: int) -> list[Any]:
        result: list[Any] = []
        for item in islice(items, self.max_items):
            if self.budget is not None and self.budget < 0:
                return result
            result.append(self.convert(item, depth))
        if len(items) > len(result):
            result.append(self._more_items(len(items) - len(result)))
        return result

    def _more_items(self, count: int) -> str:
        self.lossy = True
        return f"…[{count} more items]"

    def _key(self, key: Any) -> str:
        converted = self.text(str.__str__(key)) if isinstance(key, str) else self.convert(key, 0)
        if isinstance(converted, str):
            return converted
        return json.dumps(converted, ensure_ascii=False, separators=(",", ":"))


def to_jsonable(value: Any, *, max_depth: int = 8, max_items: int = 100, max_string: int = 10_000) -> Any:
    """``value`` as dict[str, ...] / list / str / int / float / bool / None, following the module rules."""
    try:
        return _Walker(max_depth, max_items, max_string).convert(value, 0)
    except Exception:  # only if the guards themselves fail, e.g. RecursionError with a huge max_depth
        return f"<unrepresentable {_type_name(value)}>"


def dumps(value: Any, *, limit: int = 10_000) -> str:
    """Compact JSON of ``to_jsonable(value)``, at most ``limit`` chars. Strings, and values whose JSON-safe
    form is a string (UUID, datetime, Path...), are returned as-is, not JSON-quoted. Over-long output is
    cut and ends with ``"…[truncated N chars]"``, or ``"…[truncated]"`` when N is unknown because
    something inside was already cut (long strings, extra items, depth) or the value was too big."""
    kind = type(value)  # fast path first: this runs for every captured input and output
    if kind is str:
        return _fit(_clean_text(value), limit)
    if value is None or kind is bool:
        return _fit("null" if value is None else ("true" if value else "false"), limit)
    if (kind is int and _INT64_MIN <= value <= _INT64_MAX) or (kind is float and math.isfinite(value)):
        return _fit(repr(value), limit)
    # The budget stops the walk once the output is sure to exceed ``limit`` (it would be cut anyway),
    # so pathological values, e.g. a list holding itself 100 times 8 levels deep, stay cheap.
    walker = _Walker(max_depth=8, max_items=100, max_string=max(limit, 0), budget=max(limit, 0))
    try:
        jsonable = walker.convert(value, 0)
        if isinstance(jsonable, str):
            text = jsonable
        else:
            text = json.dumps(jsonable, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except Exception:
        return safe_repr(value, limit=max(limit, 0))
    return _fit(text, limit, count_known=not walker.lossy)


def coerce_id(value: Any) -> str | None:
    """An id (conversation, user, session) as str. None, bool, NaN/inf and blank strings -> None; bytes
    decoded as UTF-8; others ``str()``-ed; cut to the first MAX_ID_CHARS chars (no marker: it stays a
    usable grouping key)."""
    if value is None or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    try:
        if isinstance(value, (bytes, bytearray)):
            text = bytes(value).decode("utf-8", "replace")
        else:
            text = str.__str__(value) if isinstance(value, str) else str(value)
    except Exception:
        return None
    return _clean_text(text[:MAX_ID_CHARS]) if text.strip() else None


def coerce_token_count(value: Any) -> int | None:
    """A non-negative int or None. None, bool, NaN, infinities, negatives and non-numeric values -> None;
    floats and numeric strings (``"12"``, ``"12.7"``) are rounded down; int-like objects (numpy) accepted."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value) if value >= 0 else None
    number = coerce_float(value)
    if number is not None:
        return math.floor(number) if number >= 0 else None
    try:  # int-like objects without __float__
        index = operator.index(value)
    except Exception:
        return None
    return index if index >= 0 else None


def coerce_float(value: Any) -> float | None:
    """A finite float or None. None, bool, NaN, infinities and non-numeric values -> None; numeric
    strings are parsed."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (str, bytes, bytearray)):
            number = float(value.strip())
        elif hasattr(value, "__float__"):
            number = float(value)
        else:
            return None
    except Exception:
        return None
    return number if math.isfinite(number) else None
