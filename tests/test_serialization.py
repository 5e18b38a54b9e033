from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import json
import math
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from agents_hub_monitoring.serialization import (
    CYCLE_MARKER,
    MAX_DEPTH_MARKER,
    MAX_ID_CHARS,
    coerce_duration,
    coerce_float,
    coerce_id,
    coerce_token_count,
    dumps,
    safe_repr,
    to_jsonable,
    truncate_text,
)


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


@dataclasses.dataclass
class Credentials:
    user: str
    password: str = dataclasses.field(default="hunter2", repr=False)


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class Plain:
    def __init__(self) -> None:
        self.value = 1

    def __repr__(self) -> str:
        return "Plain(value=1)"


class FakePydanticV2:
    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {"a": 1, "when": "2024-01-01T00:00:00" if mode == "json" else dt.datetime(2024, 1, 1)}


class FakePydanticV1:
    __fields__ = {"a": None}

    def dict(self) -> dict[str, Any]:
        return {"a": 1}


class IntLike:
    """Int-like without ``__float__``, as some array scalars are."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def assert_json_safe(value: Any) -> None:
    json.dumps(value, allow_nan=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None), (True, True), (3, 3), (1.5, 1.5), ("text", "text"),
        (float("nan"), "NaN"), (float("inf"), "Infinity"), (-math.inf, "-Infinity"),
        (2**70, str(2**70)),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"), (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.time(1, 2), "01:02:00"), (dt.timedelta(minutes=1, seconds=30), 90.0),
        (decimal.Decimal("1.10"), "1.10"), (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (Color.RED, "red"), (Color.PAIR, [1, 2]), (Path("/tmp/x"), "/tmp/x"),
        ((1, "a"), [1, "a"]), (deque([1, 2]), [1, 2]), (range(3), [0, 1, 2]),
        ({3, 1, 2}, [1, 2, 3]), (frozenset({"b", "a"}), ["a", "b"]),
    ],
)
def test_to_jsonable_converts_common_types(value: Any, expected: Any) -> None:
    assert to_jsonable(value) == expected


def test_bytes_are_described_by_length_and_digest_never_content() -> None:
    digest = hashlib.sha256(b"secret payload").hexdigest()[:16]
    for value in (b"secret payload", bytearray(b"secret payload"), memoryview(b"secret payload")):
        assert to_jsonable(value) == f"<bytes len=14 sha256={digest}>"


def test_exceptions_become_type_and_message() -> None:
    assert to_jsonable(ValueError("boom")) == {"type": "ValueError", "message": "boom"}

    class CustomError(Exception):
        pass

    converted = to_jsonable(CustomError("x"))
    assert converted["type"].endswith("CustomError") and "." in converted["type"]


def test_mapping_keys_are_coerced_to_strings() -> None:
    converted = to_jsonable({1: "a", None: "b", (1, "x"): "c", Color.RED: "d", 2.5: "e"})
    assert converted == {"1": "a", "null": "b", '[1,"x"]': "c", "red": "d", "2.5": "e"}


def test_dataclass_fields_hidden_from_repr_are_not_serialised() -> None:
    assert to_jsonable(Credentials("bob")) == {"user": "bob"}


def test_pydantic_models_are_duck_typed() -> None:
    assert to_jsonable(FakePydanticV2()) == {"a": 1, "when": "2024-01-01T00:00:00"}
    assert to_jsonable(FakePydanticV1()) == {"a": 1}


def test_real_pydantic_model_if_installed() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Message(pydantic.BaseModel):
        role: str
        sent: dt.datetime

    assert to_jsonable(Message(role="user", sent=dt.datetime(2024, 1, 1))) == {
        "role": "user", "sent": "2024-01-01T00:00:00"}


def test_long_strings_are_truncated_with_marker() -> None:
    assert to_jsonable("x" * 25, max_string=10) == "x" * 10 + "…[truncated 15 chars]"


def test_too_many_items_get_a_trailing_marker() -> None:
    assert to_jsonable(list(range(10)), max_items=3) == [0, 1, 2, "…[7 more items]"]
    converted = to_jsonable({str(i): i for i in range(5)}, max_items=2)
    assert converted == {"0": 0, "1": 1, "…": "…[3 more items]"}


def test_cycles_are_marked_but_shared_references_are_not() -> None:
    looping: list[Any] = [1]
    looping.append(looping)
    assert to_jsonable(looping) == [1, CYCLE_MARKER]
    mapping: dict[str, Any] = {}
    mapping["self"] = mapping
    assert to_jsonable(mapping) == {"self": CYCLE_MARKER}
    shared = {"k": "v"}
    assert to_jsonable([shared, shared]) == [{"k": "v"}, {"k": "v"}]


def test_too_deep_nesting_is_marked() -> None:
    nested: Any = "leaf"
    for _ in range(5):
        nested = [nested]
    assert to_jsonable(nested, max_depth=2) == [[MAX_DEPTH_MARKER]]


def test_unknown_objects_fall_back_to_repr_and_broken_repr_is_marked() -> None:
    assert to_jsonable(Plain()) == "Plain(value=1)"
    assert to_jsonable(ReprRaises()) == "<unrepresentable ReprRaises>"
    assert to_jsonable([ReprRaises()]) == ["<unrepresentable ReprRaises>"]


def test_generators_are_not_consumed() -> None:
    generator = (i for i in range(3))
    assert to_jsonable(generator).startswith("<generator")
    assert list(generator) == [0, 1, 2]


def test_mocks_and_hostile_objects_never_raise() -> None:
    class HostileGetattr:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(name)

        def __repr__(self) -> str:
            return "Hostile"

    for value in (mock.MagicMock(), HostileGetattr(), mock.Mock(side_effect=RuntimeError)):
        assert_json_safe(to_jsonable(value))
        assert isinstance(dumps(value), str)


def test_lone_surrogates_are_replaced_so_text_stays_encodable() -> None:
    converted = to_jsonable(["\ud800abc"])
    converted[0].encode("utf-8")
    dumps("\udfffx").encode("utf-8")


def test_output_of_a_nasty_composite_is_json_safe() -> None:
    looping: list[Any] = []
    looping.append(looping)
    value = {"nan": float("nan"), 1: {b"raw", 3}, "objs": [ReprRaises(), Plain(), looping], "e": KeyError("k")}
    assert_json_safe(to_jsonable(value))


def test_dumps_fast_path_for_simple_values() -> None:
    assert dumps("plain text") == "plain text"
    assert dumps(None) == "null"
    assert dumps(True) == "true"
    assert dumps(42) == "42"
    assert dumps(1.5) == "1.5"
    assert dumps(float("nan")) == "NaN"


def test_dumps_is_compact_unicode_json_and_passes_string_forms_through() -> None:
    assert dumps({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'
    assert dumps(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize("limit", [0, 1, 5, 20, 37, 100])
@pytest.mark.parametrize("value", ["y" * 500, list(range(500)), {"k": "v" * 300}, [ReprRaises()] * 50])
def test_dumps_never_exceeds_limit(value: Any, limit: int) -> None:
    assert len(dumps(value, limit=limit)) <= limit


def test_dumps_marks_truncation() -> None:
    text = dumps("x" * 100, limit=30)
    assert len(text) == 30 and text.endswith("…[truncated 91 chars]")
    assert dumps(list(range(1000)), limit=50).endswith("…[truncated]")


def test_dumps_stays_cheap_on_pathological_shared_structures() -> None:
    value: Any = [[]]
    for _ in range(8):
        value = [value] * 100  # 100**8 leaves if walked in full
    started = time.perf_counter()
    assert len(dumps(value, limit=1000)) <= 1000
    assert time.perf_counter() - started < 1.0


def test_safe_repr_never_raises_and_respects_limit() -> None:
    assert safe_repr(ReprRaises()) == "<unrepresentable ReprRaises>"
    assert len(safe_repr("z" * 1000, limit=50)) == 50
    assert safe_repr([1, 2]) == "[1, 2]"


def test_truncate_text_counts_previously_dropped_chars() -> None:
    assert truncate_text("short", 10) == "short"
    assert truncate_text("short", 40, already_dropped=7) == "short…[truncated 7 chars]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None), ("", None), ("   ", None), (True, None), (float("nan"), None),
        ("conv-1", "conv-1"), (42, "42"), (uuid.UUID(int=3), "00000000-0000-0000-0000-000000000003"),
        (b"abc", "abc"), ("a" * 300, "a" * MAX_ID_CHARS),
    ],
)
def test_coerce_id(value: Any, expected: str | None) -> None:
    assert coerce_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None), (float("nan"), None), (float("inf"), None), (-1, None), (-0.5, None), (True, None),
        ("abc", None), ([1], None), ("9" * 5000, None),
        (0, 0), (12, 12), (3.9, 3), ("12", 12), (" 7 ", 7), ("12.7", 12), (decimal.Decimal("3"), 3),
        # Beyond int64 -> None: OTLP metrics are cumulative, so one unencodable point breaks every later export.
        (2**63 - 1, 2**63 - 1), (2**63, None), (10**30, None), (1e19, None), ("1e30", None),
        (IntLike(2**63 - 1), 2**63 - 1), (IntLike(2**64), None), (IntLike(-1), None),
    ],
)
def test_coerce_token_count(value: Any, expected: int | None) -> None:
    assert coerce_token_count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (float("nan"), None), (math.inf, None), (True, None), ("x", None), (10**400, None),
     (3, 3.0), ("1.5", 1.5), (decimal.Decimal("0.25"), 0.25)],
)
def test_coerce_float(value: Any, expected: float | None) -> None:
    assert coerce_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0.0), (1.5, 1.5), ("2.5", 2.5), (dt.timedelta(minutes=1, seconds=30), 90.0), (decimal.Decimal("0.25"), 0.25),
     (365.25 * 86400, 365.25 * 86400),
     (None, None), (True, None), ("x", None), (-0.001, None), (-5, None), (float("nan"), None), (math.inf, None),
     (-math.inf, None), (365.25 * 86400 + 1, None), (10**400, None), (dt.timedelta(seconds=-1), None)],
)
def test_coerce_duration(value: Any, expected: float | None) -> None:
    assert coerce_duration(value) == expected
