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

import datetime as dt
import json
import math
import operator
from typing import Any

from agents_hub_monitoring._json_values import (
    INT64_MAX,
    INT64_MIN,
    SURROGATES,
    TRUNCATION_PREFIX,
    clean_text,
    fit_text,
    repr_or_marker,
)
from agents_hub_monitoring._json_walker import CYCLE_MARKER, MAX_DEPTH_MARKER, Walker, to_jsonable

__all__ = [
    "CYCLE_MARKER", "MAX_DEPTH_MARKER", "MAX_DURATION_S", "MAX_ID_CHARS", "TRUNCATION_PREFIX", "coerce_duration",
    "coerce_float", "coerce_id", "coerce_token_count", "dumps", "safe_repr", "to_jsonable", "truncate_text",
]

MAX_ID_CHARS = 200
MAX_DURATION_S = 365.25 * 86_400  # a year: any longer span duration is a broken clock or argument
_DUMPS_DEPTH, _DUMPS_ITEMS = 8, 100  # the walker's limits in dumps: deeper or longer containers get markers
_PLAIN_SCALARS = frozenset({str, float, bool, type(None)})  # non-finite floats make the encoder raise


def _make_encode() -> Any:
    """The stdlib's C encoder with dumps' settings, called directly: ``json.dumps`` with any non-default
    argument builds a JSONEncoder per call. No circular-reference markers: _plain_json bounds the depth."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (PyPy): the same output, slower
        return encoder.iterencode
    return make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)


_encode = _make_encode()


def _plain_json(value: dict[str, Any] | list[Any] | tuple[Any, ...], limit: int) -> str | None:
    """``dumps(value)`` straight from the C encoder, for plain JSON values the walker would copy unchanged:
    exact dict (str keys) / list / tuple of str, int64, finite float, bool and None, at most _DUMPS_ITEMS
    per container and _DUMPS_DEPTH levels, no lone surrogate, output within ``limit``. Else None.

    The walker costs ~6 Python calls per value; this check is one loop, and bails out at the first value
    that is not plain. Every value prints as at least one char, so more values than ``limit`` means the
    output would be cut: that bounds the work on self-referencing containers too."""
    stack, budget = [(value, 0)], limit
    while stack:
        container, depth = stack.pop()
        budget -= len(container) + 1
        if depth >= _DUMPS_DEPTH or len(container) > _DUMPS_ITEMS or budget < 0:
            return None
        if type(container) is dict:
            for key in container:
                if type(key) is not str:
                    return None
        for item in container.values() if type(container) is dict else container:  # type: ignore[union-attr]
            kind = type(item)
            if kind is dict or kind is list or kind is tuple:
                stack.append((item, depth + 1))
            elif kind not in _PLAIN_SCALARS and (kind is not int or not INT64_MIN <= item <= INT64_MAX):
                return None
    try:
        text = "".join(_encode(value, 0))
    except ValueError:  # NaN or an infinity, which the walker writes as strings
        return None
    if len(text) > limit or (not text.isascii() and SURROGATES.search(text)):
        return None
    return text


def truncate_text(text: str, limit: int, *, already_dropped: int = 0) -> str:
    """``text`` cut to at most ``limit`` chars, ending with ``"…[truncated N chars]"`` when cut.
    ``already_dropped``: chars the caller removed beforehand (counted in N, and forces the marker)."""
    return fit_text(clean_text(text), limit, already_dropped=already_dropped)


def safe_repr(value: Any, limit: int = 200) -> str:
    """repr cut to at most ``limit`` chars (marker included), or ``"<unrepresentable Qualname>"``."""
    text, _ = repr_or_marker(value)
    return fit_text(text, limit)


def dumps(value: Any, *, limit: int = 10_000) -> str:
    """Compact JSON of ``to_jsonable(value)``, at most ``limit`` chars. Strings, and values whose JSON-safe
    form is a string (UUID, datetime, Path...), are returned as-is, not JSON-quoted. Over-long output is
    cut and ends with ``"…[truncated N chars]"``, or ``"…[truncated]"`` when N is unknown because
    something inside was already cut (long strings, extra items, depth) or the value was too big."""
    kind = type(value)  # fast path first: this runs for every captured input and output
    if kind is str:
        return fit_text(clean_text(value), limit)
    if value is None or kind is bool:
        return fit_text("null" if value is None else ("true" if value else "false"), limit)
    if (kind is int and INT64_MIN <= value <= INT64_MAX) or (kind is float and math.isfinite(value)):
        return fit_text(repr(value), limit)
    if (kind is dict or kind is list or kind is tuple) and (text := _plain_json(value, limit)) is not None:
        return text
    return _dumps_walked(value, limit)


def _dumps_walked(value: Any, limit: int) -> str:
    """``dumps`` through the walker, for any value: the reference _plain_json is tested against."""
    # The budget stops the walk once the output is sure to exceed ``limit`` (it would be cut anyway),
    # so pathological values, e.g. a list holding itself 100 times 8 levels deep, stay cheap.
    walker = Walker(max_depth=_DUMPS_DEPTH, max_items=_DUMPS_ITEMS, max_string=max(limit, 0), budget=max(limit, 0))
    try:
        jsonable = walker.convert(value, 0)
        if isinstance(jsonable, str):
            text = jsonable
        else:
            text = json.dumps(jsonable, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except Exception:
        return safe_repr(value, limit=max(limit, 0))
    return fit_text(text, limit, count_known=not walker.lossy)


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
    return clean_text(text[:MAX_ID_CHARS]) if text.strip() else None


def coerce_token_count(value: Any) -> int | None:
    """A non-negative int64 or None. None, bool, NaN, infinities, negatives, counts above 2**63 - 1 and
    non-numeric values -> None; floats and numeric strings (``"12"``, ``"12.7"``) are rounded down; int-like
    objects (numpy) accepted. The int64 cap matters: OTLP encodes metric points as int64 and metrics are
    cumulative, so one unencodable count would break every later export of the metric."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        count = int(value)
    elif (number := coerce_float(value)) is not None:
        count = math.floor(number)
    else:
        try:  # int-like objects without __float__
            count = operator.index(value)
        except Exception:
            return None
    return count if 0 <= count <= INT64_MAX else None


def coerce_duration(value: Any) -> float | None:
    """A duration in seconds: a finite float from 0 to MAX_DURATION_S (a year), or None for anything else
    (negative, NaN, infinite, huge, non-numeric: a clock jump or a bad argument, not a duration worth a
    histogram point). ``timedelta`` accepted; numbers and numeric strings as in ``coerce_float``."""
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    seconds = coerce_float(value)
    return seconds if seconds is not None and 0.0 <= seconds <= MAX_DURATION_S else None


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
