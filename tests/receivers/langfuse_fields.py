"""How each observation field is read from a decoded span's attributes, per the Langfuse wire contract.

Where the contract is silent, behaviour mirrors Langfuse's OtelIngestionProcessor. ``langfuse_mapping``
assembles these fields into observations and traces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "Attrs", "cost_details", "environment_name", "first_meaningful", "input_output", "iso_time",
    "model_parameters", "observation_level", "observation_metadata", "optional_text", "parse_payload", "tags",
    "trace_metadata", "usage_details",
]

Attrs = Mapping[str, Any]

_LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
_ENVIRONMENT_KEYS = ("langfuse.environment", "deployment.environment.name", "deployment.environment")
_ENVIRONMENT_PATTERN = re.compile(r"[a-z0-9_-]{1,40}")
_USAGE_NAMES = {"input_tokens": "input", "output_tokens": "output", "total_tokens": "total",
                "prompt_tokens": "input", "completion_tokens": "output",
                "cache_read.input_tokens": "input_cached_tokens",
                "cache_creation.input_tokens": "input_cache_creation"}
# Attribute pairs tried after langfuse.observation.* and gen_ai message events, in Langfuse's order.
_IO_PAIRS = (("mlflow.spanInputs", "mlflow.spanOutputs"),
             ("traceloop.entity.input", "traceloop.entity.output"),
             ("input.value", "output.value"), ("input", "output"), ("tool_arguments", "tool_response"),
             ("gen_ai.input.messages", "gen_ai.output.messages"),
             ("gen_ai.tool.call.arguments", "gen_ai.tool.call.result"))
_INPUT_EVENTS = frozenset(("gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message",
                           "gen_ai.tool.message"))
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INVALID = object()  # what _loads returns for non-JSON: None would be a valid JSON null


def _meaningful(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def first_meaningful(keys: Iterable[str], *sources: Attrs) -> Any:
    """The first non-empty value; keys are tried in order, and for each key every source in order."""
    for key in keys:
        for source in sources:
            if _meaningful(source.get(key)):
                return source[key]
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _loads(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    try:
        return json.loads(value)
    except ValueError:
        return _INVALID


def _json_object(value: Any) -> dict[str, Any] | None:
    parsed = _loads(value)
    return parsed if isinstance(parsed, dict) else None


def parse_payload(value: Any) -> Any:
    """Input/output: JSON objects/arrays are parsed, any other string stays a string."""
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        parsed = _loads(value)
        return value if parsed is _INVALID else parsed
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def iso_time(unix_nano: int) -> str:
    """Millisecond ISO-8601 UTC, as Langfuse returns timestamps."""
    moment = _EPOCH + timedelta(milliseconds=unix_nano // 1_000_000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def observation_level(attrs: Attrs, status_code: str) -> str:
    explicit = attrs.get("langfuse.observation.level")
    if isinstance(explicit, str) and explicit in _LEVELS:
        return explicit
    return "ERROR" if status_code == "ERROR" else "DEFAULT"


def model_parameters(attrs: Attrs) -> dict[str, Any]:
    params = _json_object(attrs.get("langfuse.observation.model.parameters"))
    if params is None:
        prefix = "gen_ai.request."
        params = {k.removeprefix(prefix): v for k, v in attrs.items() if k.startswith(prefix)}
        params.pop("model", None)
    # Langfuse keeps strings and numbers and JSON-encodes everything else (bools, arrays).
    plain = (str, int, float)
    return {k: v if isinstance(v, plain) and not isinstance(v, bool) else _text(v) for k, v in params.items()}


def usage_details(attrs: Attrs) -> dict[str, int]:
    explicit = _loads(attrs.get("langfuse.observation.usage_details"))
    if explicit is not _INVALID:  # valid JSON: used as-is when well-formed, else the server drops usage
        valid = isinstance(explicit, dict) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in explicit.values()
        )
        return dict(explicit) if valid else {}
    usage: dict[str, int] = {}
    for key, value in attrs.items():
        suffix = key.removeprefix("gen_ai.usage.")
        number = _number(value)
        if suffix != key and suffix != "cost" and number is not None:
            usage[_USAGE_NAMES.get(suffix, suffix)] = int(number)
    if "input" in usage:  # gen_ai input_tokens include cache reads/writes; Langfuse bills them separately
        cached = usage.get("input_cached_tokens", 0) + usage.get("input_cache_creation", 0)
        usage["input"] = max(usage["input"] - cached, 0)
    return usage


def cost_details(attrs: Attrs) -> dict[str, Any]:
    explicit = _json_object(attrs.get("langfuse.observation.cost_details"))
    if explicit is not None:
        return explicit
    total = _number(attrs.get("gen_ai.usage.cost"))
    return {"total": total} if total else {}


def input_output(attrs: Attrs, events: list[dict[str, Any]]) -> tuple[Any, Any]:
    explicit = (attrs.get("langfuse.observation.input"), attrs.get("langfuse.observation.output"))
    if explicit != (None, None):
        return parse_payload(explicit[0]), parse_payload(explicit[1])
    inputs = [{"role": e["name"].removeprefix("gen_ai.").removesuffix(".message"), **e["attributes"]}
              for e in events if e["name"] in _INPUT_EVENTS]
    outputs = [dict(e["attributes"]) for e in events if e["name"] == "gen_ai.choice"]
    if inputs or outputs:
        return inputs or None, outputs[0] if len(outputs) == 1 else outputs or None
    for input_key, output_key in _IO_PAIRS:
        pair = attrs.get(input_key), attrs.get(output_key)
        if _meaningful(pair[0]) or _meaningful(pair[1]):
            return parse_payload(pair[0]), parse_payload(pair[1])
    return None, None


def _prefixed_metadata(attrs: Attrs, prefix: str) -> dict[str, Any]:
    """``<prefix>`` as a JSON object, overlaid with every ``<prefix>.<key>`` attribute."""
    metadata = _json_object(attrs.get(prefix)) or {}
    metadata.update({k.removeprefix(f"{prefix}."): v for k, v in attrs.items() if k.startswith(f"{prefix}.")})
    return metadata


def trace_metadata(attrs: Attrs) -> dict[str, Any]:
    return _prefixed_metadata(attrs, "langfuse.trace.metadata")


def observation_metadata(attrs: Attrs) -> dict[str, Any]:
    return _prefixed_metadata(attrs, "langfuse.observation.metadata")


def tags(value: Any) -> list[str]:
    if not _meaningful(value):
        return []
    if isinstance(value, list):
        return [_text(tag) for tag in value]
    text = _text(value)
    parsed = _loads(text) if text.strip().startswith("[") else _INVALID
    if isinstance(parsed, list):
        return [_text(tag) for tag in parsed]
    return [tag.strip() for tag in text.split(",")] if "," in text else [text]


def environment_name(attrs: Attrs, resource: Attrs) -> str:
    value = first_meaningful(_ENVIRONMENT_KEYS, attrs, resource)  # per key: span first, then resource
    normalised = "" if value is None else _text(value).strip().lower()
    return normalised if _ENVIRONMENT_PATTERN.fullmatch(normalised) else "default"


def optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)
