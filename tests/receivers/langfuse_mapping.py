"""How the Langfuse server turns one decoded OTLP span into an observation.

Follows the project's "Langfuse wire contract" (first match wins). Where the contract
is silent, behaviour mirrors Langfuse's OtelIngestionProcessor / ObservationTypeMapper.
Input: span dicts from :func:`receivers.decode.spans_from_request`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

Attrs = Mapping[str, Any]

OBSERVATION_TYPES = frozenset(
    ("span", "generation", "event", "embedding", "agent", "tool", "chain", "retriever", "guardrail",
     "evaluator")
)
_OPENINFERENCE_KINDS = {"LLM": "generation"} | {
    kind.upper(): kind for kind in OBSERVATION_TYPES - {"span", "generation", "event"}
}
_GENERATE = ("chat", "completion", "text_completion", "generate_content", "generate")
_GENAI_OPERATIONS = dict.fromkeys(_GENERATE, "generation") | {
    "embeddings": "embedding", "invoke_agent": "agent", "create_agent": "agent", "execute_tool": "tool"
}
_TYPE_MODEL_KEYS = ("langfuse.observation.model.name", "gen_ai.request.model", "gen_ai.response.model",
                    "llm.model_name", "model")
# Langfuse's extractModelName order; the contract lists the first keys and elides the rest with "...".
_MODEL_NAME_KEYS = ("langfuse.observation.model.name", "gen_ai.response.model", "ai.model.id",
                    "gen_ai.request.model", "llm.response.model", "llm.model_name", "model")
_LEVELS = frozenset({"DEBUG", "DEFAULT", "WARNING", "ERROR"})
_USER_KEYS = ("langfuse.user.id", "user.id")
_SESSION_KEYS = ("langfuse.session.id", "session.id", "gen_ai.conversation.id")
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
_INVALID = object()


def _meaningful(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _first(keys: Iterable[str], *sources: Attrs) -> Any:
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


def _parse_payload(value: Any) -> Any:
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


def _lookup(table: Mapping[str, str], value: Any) -> str | None:
    return table.get(value) if isinstance(value, str) else None  # arrays are unhashable


def _type_from_langfuse(attrs: Attrs) -> str | None:
    return _lookup({kind: kind for kind in OBSERVATION_TYPES}, attrs.get("langfuse.observation.type"))


def _type_from_openinference(attrs: Attrs) -> str | None:
    return _lookup(_OPENINFERENCE_KINDS, attrs.get("openinference.span.kind"))


def _type_from_operation(attrs: Attrs) -> str | None:
    return _lookup(_GENAI_OPERATIONS, attrs.get("gen_ai.operation.name"))


def _type_from_tool(attrs: Attrs) -> str | None:
    return "tool" if _first(("gen_ai.tool.name", "gen_ai.tool.call.id"), attrs) is not None else None


def _type_from_model(attrs: Attrs) -> str | None:
    return "generation" if _first(_TYPE_MODEL_KEYS, attrs) is not None else None


_TYPE_RULES: tuple[Callable[[Attrs], str | None], ...] = (
    _type_from_langfuse, _type_from_openinference, _type_from_operation, _type_from_tool, _type_from_model
)


def observation_type(attrs: Attrs) -> str:
    # An unrecognised value does not "match", so the next rule gets its turn (as in Langfuse).
    return next((found for rule in _TYPE_RULES if (found := rule(attrs)) is not None), "span")


def _level(attrs: Attrs, status_code: str) -> str:
    explicit = attrs.get("langfuse.observation.level")
    if isinstance(explicit, str) and explicit in _LEVELS:
        return explicit
    return "ERROR" if status_code == "ERROR" else "DEFAULT"


def _model_parameters(attrs: Attrs) -> dict[str, Any]:
    params = _json_object(attrs.get("langfuse.observation.model.parameters"))
    if params is None:
        prefix = "gen_ai.request."
        params = {k.removeprefix(prefix): v for k, v in attrs.items() if k.startswith(prefix)}
        params.pop("model", None)
    # Langfuse keeps strings and numbers and JSON-encodes everything else (bools, arrays).
    plain = (str, int, float)
    return {k: v if isinstance(v, plain) and not isinstance(v, bool) else _text(v) for k, v in params.items()}


def _usage(attrs: Attrs) -> dict[str, int]:
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


def _cost(attrs: Attrs) -> dict[str, Any]:
    explicit = _json_object(attrs.get("langfuse.observation.cost_details"))
    if explicit is not None:
        return explicit
    total = _number(attrs.get("gen_ai.usage.cost"))
    return {"total": total} if total else {}


def _input_output(attrs: Attrs, events: list[dict[str, Any]]) -> tuple[Any, Any]:
    explicit = (attrs.get("langfuse.observation.input"), attrs.get("langfuse.observation.output"))
    if explicit != (None, None):
        return _parse_payload(explicit[0]), _parse_payload(explicit[1])
    inputs = [{"role": e["name"].removeprefix("gen_ai.").removesuffix(".message"), **e["attributes"]}
              for e in events if e["name"] in _INPUT_EVENTS]
    outputs = [dict(e["attributes"]) for e in events if e["name"] == "gen_ai.choice"]
    if inputs or outputs:
        return inputs or None, outputs[0] if len(outputs) == 1 else outputs or None
    for input_key, output_key in _IO_PAIRS:
        pair = attrs.get(input_key), attrs.get(output_key)
        if _meaningful(pair[0]) or _meaningful(pair[1]):
            return _parse_payload(pair[0]), _parse_payload(pair[1])
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


def _environment(attrs: Attrs, resource: Attrs) -> str:
    value = _first(_ENVIRONMENT_KEYS, attrs, resource)  # per key: span first, then resource
    normalised = "" if value is None else _text(value).strip().lower()
    return normalised if _ENVIRONMENT_PATTERN.fullmatch(normalised) else "default"


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def span_to_observation(span: Mapping[str, Any]) -> dict[str, Any]:
    attrs, resource = span["attributes"], span["resource"]
    invoke_agent = attrs.get("gen_ai.operation.name") == "invoke_agent"  # its usage repeats its children's
    observation_input, observation_output = _input_output(attrs, span["events"])
    return {
        "id": span["span_id"],
        "trace_id": span["trace_id"],
        "parent_observation_id": span["parent_span_id"],
        "type": observation_type(attrs),
        "name": _optional_text(_first(("gen_ai.tool.name",), attrs)) or span["name"],
        "level": _level(attrs, span["status"]["code"]),
        "status_message": _optional_text(_first(("langfuse.observation.status_message",), attrs))
        or (span["status"]["message"] or None),
        "model": None if invoke_agent else _optional_text(_first(_MODEL_NAME_KEYS, attrs)),
        "model_parameters": _model_parameters(attrs),
        "usage_details": {} if invoke_agent else _usage(attrs),
        "cost_details": _cost(attrs),
        "input": observation_input,
        "output": observation_output,
        "metadata": {
            **trace_metadata(attrs),
            **observation_metadata(attrs),
            "attributes": dict(attrs),
            "resourceAttributes": dict(resource),
            "scope": {"name": span["scope"], "version": span.get("scope_version", "")},
        },
        "user_id": _optional_text(_first(_USER_KEYS, attrs)),  # never from the resource
        "session_id": _optional_text(_first(_SESSION_KEYS, attrs)),
        "trace_name": _optional_text(_first(("langfuse.trace.name",), attrs)),
        "tags": tags(attrs.get("langfuse.trace.tags")),
        "environment": _environment(attrs, resource),
        "release": _optional_text(_first(("langfuse.release",), attrs, resource)),
        "version": _optional_text(_first(("langfuse.version",), attrs) or resource.get("service.version")),
        "start_time": iso_time(span["start_time_unix_nano"]),
        "end_time": iso_time(span["end_time_unix_nano"]),
    }


def _last(observations: list[dict[str, Any]], key: str) -> Any:
    return next((o[key] for o in reversed(observations) if o[key] is not None), None)


def _explicit_trace_payload(spans: list[Mapping[str, Any]], key: str) -> Any:
    values = [s["attributes"][key] for s in spans if s["attributes"].get(key) is not None]
    return _parse_payload(values[-1]) if values else None


def _aggregate_trace(trace_id: str, pairs: list[tuple[Mapping[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    spans, observations = [span for span, _ in pairs], [obs for _, obs in pairs]
    root = next((o for o in reversed(observations) if o["parent_observation_id"] is None), None)
    metadata: dict[str, Any] = {}
    for span, obs in pairs:  # the root span's own observation metadata also lands on the trace
        metadata.update(observation_metadata(span["attributes"]) if obs is root else {})
        metadata.update(trace_metadata(span["attributes"]))
    trace_input = _explicit_trace_payload(spans, "langfuse.trace.input")
    trace_output = _explicit_trace_payload(spans, "langfuse.trace.output")
    return {
        "id": trace_id,
        "name": _last(observations, "trace_name") or (root["name"] if root else None),
        "user_id": _last(observations, "user_id"),
        "session_id": _last(observations, "session_id"),
        "tags": list(dict.fromkeys(tag for obs in observations for tag in obs["tags"])),
        "metadata": metadata,
        "environment": (root or observations[0])["environment"],
        "release": _last(observations, "release"),
        "version": _last(observations, "version"),
        "input": trace_input if trace_input is not None else (root["input"] if root else None),
        "output": trace_output if trace_output is not None else (root["output"] if root else None),
        "timestamp": root["start_time"] if root else min(o["start_time"] for o in observations),
        "observation_ids": [obs["id"] for obs in observations],
    }


def aggregate_traces(pairs: Iterable[tuple[Mapping[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """One trace dict per trace id (first-seen order); later spans override scalar fields."""
    grouped: dict[str, list[tuple[Mapping[str, Any], dict[str, Any]]]] = {}
    for span, observation in pairs:
        grouped.setdefault(observation["trace_id"], []).append((span, observation))
    return [_aggregate_trace(trace_id, items) for trace_id, items in grouped.items()]
