"""Conversions of single values shared by the ``to_jsonable`` walker and ``serialization``'s helpers.

Text is made UTF-8 safe and cut with a marker here; scalars JSON cannot hold (NaN, huge ints, bytes)
get their stand-ins; pydantic models are dumped without importing pydantic. ``type_name`` and
``repr_or_marker`` never raise; ``model_dump`` raises when the model's own dump does (the walker catches it).
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

__all__ = [
    "INT64_MAX", "INT64_MIN", "NOT_A_MODEL", "SURROGATES", "TRUNCATION_PREFIX", "clean_text", "describe_bytes",
    "exact_builtin", "fit_text", "jsonable_float", "model_dump", "repr_or_marker", "type_name",
]

TRUNCATION_PREFIX = "…[truncated"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # OTLP int attributes are int64; larger ints travel as text
NOT_A_MODEL = object()  # what model_dump returns for anything that is not a pydantic-like model
SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    return text if text.isascii() else SURROGATES.sub("\ufffd", text)  # isascii() is a very cheap scan


def fit_text(text: str, limit: int, *, count_known: bool = True, already_dropped: int = 0) -> str:
    """Cut ``text`` so that kept text plus marker is at most ``limit`` chars."""
    if len(text) <= limit and not already_dropped:
        return text
    dropped = len(text) - limit + already_dropped
    for _ in range(3):  # the marker's length depends on the count it shows: converges in two rounds
        marker = f"{TRUNCATION_PREFIX} {dropped} chars]" if count_known else f"{TRUNCATION_PREFIX}]"
        kept = min(max(limit - len(marker), 0), len(text))
        dropped = len(text) - kept + already_dropped
    return (text[:kept] + marker)[: max(limit, 0)]


def type_name(value: Any, *, qualified: bool = False) -> str:
    try:
        kind = type(value)
        if qualified and kind.__module__ not in (None, "builtins"):
            return f"{kind.__module__}.{kind.__qualname__}"
        return str(kind.__qualname__)
    except Exception:
        return "object"


def repr_or_marker(value: Any) -> tuple[str, bool]:
    """``(repr, True)``, or ``("<unrepresentable Qualname>", False)`` when repr raises."""
    try:
        return clean_text(repr(value)), True
    except Exception:
        return f"<unrepresentable {type_name(value)}>", False


def jsonable_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def exact_builtin(value: str | int | float) -> str | int | float:
    """Plain str/int/float of a subclass (whose dunders may lie or raise); ints beyond int64 as text."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return float.__float__(value)
    number = int.__index__(value)
    if INT64_MIN <= number <= INT64_MAX:
        return number
    try:
        return str(number)
    except ValueError:  # over sys.get_int_max_str_digits()
        return f"<int of {number.bit_length()} bits>"


def describe_bytes(value: bytes | bytearray | memoryview) -> str:
    data = value.tobytes() if isinstance(value, memoryview) else bytes(value)
    return f"<bytes len={len(data)} sha256={hashlib.sha256(data).hexdigest()[:16]}>"


def model_dump(value: Any) -> Any:
    """The dict of a pydantic v2/v1 model (duck-typed, pydantic is never imported), else NOT_A_MODEL."""
    if isinstance(value, type):
        return NOT_A_MODEL
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump(mode="json")
        except Exception:  # unserialisable field types, or a look-alike without ``mode``
            dumped = dump()
    elif hasattr(value, "__fields__") and callable(getattr(value, "dict", None)):
        dumped = value.dict()
    else:
        return NOT_A_MODEL
    return dumped if isinstance(dumped, dict) else NOT_A_MODEL  # mocks answer every attribute

