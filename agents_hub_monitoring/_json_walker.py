"""The walker behind ``to_jsonable`` and ``dumps``: containers, cycles, depth and the output budget.

The conversion rules it implements are listed in ``agents_hub_monitoring.serialization``, which is the
module to import ``to_jsonable`` from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence, ValuesView
from collections.abc import Set as AbstractSet
from decimal import Decimal
from enum import Enum
from itertools import islice
from pathlib import PurePath
from typing import Any
from uuid import UUID

from agents_hub_monitoring._json_values import (
    INT64_MAX,
    INT64_MIN,
    NOT_A_MODEL,
    TRUNCATION_PREFIX,
    clean_text,
    describe_bytes,
    exact_builtin,
    jsonable_float,
    model_dump,
    repr_or_marker,
    type_name,
)

__all__ = ["CYCLE_MARKER", "MAX_DEPTH_MARKER", "Walker", "to_jsonable"]

CYCLE_MARKER = "<cycle>"
MAX_DEPTH_MARKER = "<max depth>"
_CONTAINERS = (Mapping, Sequence, AbstractSet, ValuesView)


class Walker:
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
        value = clean_text(value)
        if len(value) <= self.max_string:
            return value
        self.lossy = True
        return f"{value[: self.max_string]}{TRUNCATION_PREFIX} {len(value) - self.max_string} chars]"

    def repr_text(self, value: Any) -> str:
        text, ok = repr_or_marker(value)
        return self.text(text) if ok else text

    def _convert(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value)
        if value is None or kind is bool or (kind is int and INT64_MIN <= value <= INT64_MAX):
            return value
        if kind is float:
            return jsonable_float(value)
        if isinstance(value, Enum):
            return self._convert(value.value, depth)  # not convert(): the budget must count it once
        if isinstance(value, (str, int, float)):
            return self._convert(exact_builtin(value), depth)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return describe_bytes(value)
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return value.isoformat()
        if isinstance(value, dt.timedelta):
            return value.total_seconds()
        if isinstance(value, (Decimal, UUID, PurePath)):
            return self.text(str(value))
        if isinstance(value, BaseException):
            return {"type": type_name(value, qualified=True), "message": self.text(str(value))}
        dumped = model_dump(value)
        return self._nested(value, value if dumped is NOT_A_MODEL else dumped, depth)

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
                value = sorted(value, key=lambda item: repr_or_marker(item)[0])
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
    """``value`` as dict[str, ...] / list / str / int / float / bool / None, following the rules listed
    in ``agents_hub_monitoring.serialization``."""
    try:
        return Walker(max_depth, max_items, max_string).convert(value, 0)
    except Exception:  # only if the guards themselves fail, e.g. RecursionError with a huge max_depth
        return f"<unrepresentable {type_name(value)}>"

