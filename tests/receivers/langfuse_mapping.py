"""How the Langfuse server turns one decoded OTLP span into an observation, and observations into traces.

Follows the project's "Langfuse wire contract" (first match wins). Where the contract
is silent, behaviour mirrors Langfuse's OtelIngestionProcessor / ObservationTypeMapper.
Input: span dicts from :func:`receivers.decode.spans_from_request`. The rules for single
fields (usage, cost, input/output, environment...) live in ``langfuse_fields``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .langfuse_fields import (
    Attrs,
    cost_details,
    environment_name,
    first_meaningful,
    input_output,
    iso_time,
    model_parameters,
    observation_level,
    observation_metadata,
    optional_text,
    parse_payload,
    tags,
    trace_metadata,
    usage_details,
)

__all__ = [
    "OBSERVATION_TYPES", "Attrs", "aggregate_traces", "iso_time", "observation_metadata", "observation_type",
    "span_to_observation", "tags", "trace_metadata",
]

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
_USER_KEYS = ("langfuse.user.id", "user.id")
_SESSION_KEYS = ("langfuse.session.id", "session.id", "gen_ai.conversation.id")


def _lookup(table: Mapping[str, str], value: Any) -> str | None:
    return table.get(value) if isinstance(value, str) else None  # arrays are unhashable


def _type_from_langfuse(attrs: Attrs) -> str | None:
    return _lookup({kind: kind for kind in OBSERVATION_TYPES}, attrs.get("langfuse.observation.type"))


def _type_from_openinference(attrs: Attrs) -> str | None:
    return _lookup(_OPENINFERENCE_KINDS, attrs.get("openinference.span.kind"))


def _type_from_operation(attrs: Attrs) -> str | None:
    return _lookup(_GENAI_OPERATIONS, attrs.get("gen_ai.operation.name"))


def _type_from_tool(attrs: Attrs) -> str | None:
    return "tool" if first_meaningful(("gen_ai.tool.name", "gen_ai.tool.call.id"), attrs) is not None else None


def _type_from_model(attrs: Attrs) -> str | None:
    return "generation" if first_meaningful(_TYPE_MODEL_KEYS, attrs) is not None else None


_TYPE_RULES: tuple[Callable[[Attrs], str | None], ...] = (
    _type_from_langfuse, _type_from_openinference, _type_from_operation, _type_from_tool, _type_from_model
)


def observation_type(attrs: Attrs) -> str:
    # An unrecognised value does not "match", so the next rule gets its turn (as in Langfuse).
    return next((found for rule in _TYPE_RULES if (found := rule(attrs)) is not None), "span")


def span_to_observation(span: Mapping[str, Any]) -> dict[str, Any]:
    attrs, resource = span["attributes"], span["resource"]
    invoke_agent = attrs.get("gen_ai.operation.name") == "invoke_agent"  # its usage repeats its children's
    observation_input, observation_output = input_output(attrs, span["events"])
    return {
        "id": span["span_id"],
        "trace_id": span["trace_id"],
        "parent_observation_id": span["parent_span_id"],
        "type": observation_type(attrs),
        "name": optional_text(first_meaningful(("gen_ai.tool.name",), attrs)) or span["name"],
        "level": observation_level(attrs, span["status"]["code"]),
        "status_message": optional_text(first_meaningful(("langfuse.observation.status_message",), attrs))
        or (span["status"]["message"] or None),
        "model": None if invoke_agent else optional_text(first_meaningful(_MODEL_NAME_KEYS, attrs)),
        "model_parameters": model_parameters(attrs),
        "usage_details": {} if invoke_agent else usage_details(attrs),
        "cost_details": cost_details(attrs),
        "input": observation_input,
        "output": observation_output,
        "metadata": {
            **trace_metadata(attrs),
            **observation_metadata(attrs),
            "attributes": dict(attrs),
            "resourceAttributes": dict(resource),
            "scope": {"name": span["scope"], "version": span.get("scope_version", "")},
        },
        "user_id": optional_text(first_meaningful(_USER_KEYS, attrs)),  # never from the resource
        "session_id": optional_text(first_meaningful(_SESSION_KEYS, attrs)),
        "trace_name": optional_text(first_meaningful(("langfuse.trace.name",), attrs)),
        "tags": tags(attrs.get("langfuse.trace.tags")),
        "environment": environment_name(attrs, resource),
        "release": optional_text(first_meaningful(("langfuse.release",), attrs, resource)),
        "version": optional_text(first_meaningful(("langfuse.version",), attrs) or resource.get("service.version")),
        "start_time": iso_time(span["start_time_unix_nano"]),
        "end_time": iso_time(span["end_time_unix_nano"]),
    }


def _last(observations: list[dict[str, Any]], key: str) -> Any:
    return next((o[key] for o in reversed(observations) if o[key] is not None), None)


def _explicit_trace_payload(spans: list[Mapping[str, Any]], key: str) -> Any:
    values = [s["attributes"][key] for s in spans if s["attributes"].get(key) is not None]
    return parse_payload(values[-1]) if values else None


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
