"""Translate our GenAI spans into the span attributes Langfuse reads (``contracts/langfuse.md``).

Runs on the export thread, on already-scrubbed spans: it only derives ``langfuse.*`` attributes
from what survived the privacy policy. A few attributes are *moved* rather than copied (the app
``session.id``, retrieval query/documents, system instructions, moderation input) because
Langfuse would otherwise read them in the wrong place or store the same payload twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import StatusCode

from agents_hub_monitoring.serialization import coerce_float, coerce_token_count, truncate_text
from agents_hub_monitoring.telemetry import semconv as sc

__all__ = ["observation_type", "translate_span", "trim_span", "usage_details"]

# Our operations -> Langfuse observation types. search_memory reads from a store like a retriever;
# the memory writes are plain spans. Events, errors and evaluations are zero-length markers: event.
_TYPES = {
    sc.OP_INVOKE_AGENT: "agent", sc.OP_EMBEDDINGS: "embedding", sc.OP_EXECUTE_TOOL: "tool",
    sc.OP_RETRIEVAL: "retriever", sc.OP_GUARDRAIL: "guardrail", sc.OP_WORKFLOW: "chain",
    sc.OP_SEARCH_MEMORY: "retriever", sc.OP_EVENT: "event", sc.OP_ERROR: "event", sc.OP_EVALUATION: "event",
    **dict.fromkeys(sc.LANGFUSE_GENERATION_OPERATIONS, "generation"),
    **dict.fromkeys(sc.MEMORY_OPERATIONS - {sc.OP_SEARCH_MEMORY}, "span"),
}


def observation_type(attributes: Mapping[str, Any]) -> str | None:
    """The Langfuse type for a span, or None to let Langfuse's own rules decide (foreign spans)."""
    operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
    if isinstance(operation, str) and operation in _TYPES:
        return _TYPES[operation]
    if sc.EVENT_NAME in attributes:
        return "event"
    return None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def usage_details(attributes: Mapping[str, Any]) -> dict[str, int] | None:
    """Langfuse usage: cached and cache-creation tokens out of ``input``, reasoning out of ``output``.

    The GenAI ``input_tokens`` include cache reads and writes and ``output_tokens`` include reasoning;
    Langfuse prices each key separately, so they are split out and ``total`` keeps the true sum.
    """
    def count(key: str) -> int:
        return coerce_token_count(attributes.get(key)) or 0

    if sc.GEN_AI_USAGE_INPUT_TOKENS not in attributes and sc.GEN_AI_USAGE_OUTPUT_TOKENS not in attributes:
        return None
    inputs, outputs = count(sc.GEN_AI_USAGE_INPUT_TOKENS), count(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
    cached = count(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)
    created = count(sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)
    reasoning = count(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)
    usage = {sc.LANGFUSE_USAGE_INPUT: max(inputs - cached - created, 0),
             sc.LANGFUSE_USAGE_OUTPUT: max(outputs - reasoning, 0)}
    for key, value in ((sc.LANGFUSE_USAGE_INPUT_CACHED, cached), (sc.LANGFUSE_USAGE_INPUT_CACHE_CREATION, created),
                       (sc.LANGFUSE_USAGE_OUTPUT_REASONING, reasoning)):
        if value:
            usage[key] = value
    usage[sc.LANGFUSE_USAGE_TOTAL] = inputs + outputs
    return usage


def _generation(attrs: dict[str, Any], out: dict[str, Any], start_ns: int | None) -> None:
    model = attrs.get(sc.GEN_AI_RESPONSE_MODEL) or attrs.get(sc.GEN_AI_REQUEST_MODEL)
    if model:
        out[sc.LANGFUSE_OBSERVATION_MODEL_NAME] = str(model)
    parameters = {key.removeprefix(sc.GEN_AI_REQUEST_PREFIX): list(v) if isinstance(v, tuple) else v
                  for key, v in attrs.items()
                  if key.startswith(sc.GEN_AI_REQUEST_PREFIX) and key != sc.GEN_AI_REQUEST_MODEL}
    if parameters:
        out[sc.LANGFUSE_OBSERVATION_MODEL_PARAMETERS] = _json(parameters)
    usage = usage_details(attrs)
    if usage is not None:
        out[sc.LANGFUSE_OBSERVATION_USAGE_DETAILS] = _json(usage)
    cost = coerce_float(attrs.get(sc.GEN_AI_USAGE_COST))
    if cost is not None and cost >= 0:
        out[sc.LANGFUSE_OBSERVATION_COST_DETAILS] = _json({sc.LANGFUSE_COST_TOTAL: cost})
    first_chunk = coerce_float(attrs.get(sc.TIME_TO_FIRST_CHUNK))
    if first_chunk is not None and start_ns:
        moment = datetime.fromtimestamp(start_ns / 1e9 + first_chunk, tz=timezone.utc)
        out[sc.LANGFUSE_OBSERVATION_COMPLETION_START_TIME] = moment.isoformat().replace("+00:00", "Z")
    system = attrs.pop(sc.GEN_AI_SYSTEM_INSTRUCTIONS, None)
    if system is not None:  # Langfuse shows no system instructions: prepend them to the input messages
        messages = _loads(attrs.pop(sc.GEN_AI_INPUT_MESSAGES, None))
        messages = messages if isinstance(messages, list) else ([] if messages is None else [messages])
        out[sc.LANGFUSE_OBSERVATION_INPUT] = _json([{"role": "system", "content": _loads(system)}, *messages])
        if sc.GEN_AI_OUTPUT_MESSAGES in attrs:
            out[sc.LANGFUSE_OBSERVATION_OUTPUT] = attrs.pop(sc.GEN_AI_OUTPUT_MESSAGES)


def _loads(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _io(kind: str | None, attrs: dict[str, Any], out: dict[str, Any]) -> None:
    """Input/output for spans whose payload Langfuse would not find (or would show raw).

    Langfuse reads ``langfuse.observation.input``/``output`` as a pair as soon as either is set
    (ignoring ``input.value`` and friends), so each case below decides both sides.
    """
    operation = attrs.get(sc.GEN_AI_OPERATION_NAME)
    if operation == sc.OP_RETRIEVAL:
        pair = attrs.pop(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, None), attrs.pop(sc.GEN_AI_RETRIEVAL_DOCUMENTS, None)
    elif operation == sc.OP_GUARDRAIL and sc.MODERATION_FLAGGED in attrs:
        verdict = {"flagged": attrs.get(sc.MODERATION_FLAGGED), "category": attrs.get(sc.MODERATION_CATEGORY),
                   "action": attrs.get(sc.MODERATION_ACTION)}
        pair = attrs.pop(sc.INPUT_VALUE, None), _json({k: v for k, v in verdict.items() if v is not None})
    elif operation == sc.OP_EVALUATION:
        score = {"name": attrs.get(sc.GEN_AI_EVALUATION_NAME),
                 "value": attrs.get(sc.GEN_AI_EVALUATION_SCORE_VALUE, attrs.get(sc.GEN_AI_EVALUATION_SCORE_LABEL)),
                 "comment": attrs.get(sc.GEN_AI_EVALUATION_EXPLANATION)}
        pair = None, _json({k: v for k, v in score.items() if v is not None})
    elif operation == sc.OP_ERROR:
        pair = attrs.pop(sc.ERROR_CONTEXT, None), None
    elif kind == "event":
        pair = attrs.pop(sc.EVENT_PROPERTIES, None), None
    else:
        return
    for key, value in zip((sc.LANGFUSE_OBSERVATION_INPUT, sc.LANGFUSE_OBSERVATION_OUTPUT), pair, strict=True):
        if value is not None:
            out[key] = value


def _level(kind: str | None, span: ReadableSpan, attrs: Mapping[str, Any], out: dict[str, Any]) -> None:
    if span.status.status_code is StatusCode.ERROR:
        out[sc.LANGFUSE_OBSERVATION_LEVEL] = "ERROR"
        if span.status.description:
            out[sc.LANGFUSE_OBSERVATION_STATUS_MESSAGE] = span.status.description
    elif kind == "guardrail" and attrs.get(sc.MODERATION_FLAGGED) is True:
        out[sc.LANGFUSE_OBSERVATION_LEVEL] = "WARNING"
        reason = " / ".join(str(attrs[k]) for k in (sc.MODERATION_CATEGORY, sc.MODERATION_ACTION) if attrs.get(k))
        out[sc.LANGFUSE_OBSERVATION_STATUS_MESSAGE] = f"flagged: {reason}" if reason else "flagged"
    elif attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_ERROR:
        out[sc.LANGFUSE_OBSERVATION_LEVEL] = "ERROR"


def _conversation(attrs: dict[str, Any], out: dict[str, Any]) -> None:
    """Conversation -> Langfuse session; the app's own session id -> trace metadata (moved, because
    Langfuse would take ``session.id`` as the session when no conversation id is set)."""
    if attrs.get(sc.GEN_AI_CONVERSATION_ID):
        out[sc.LANGFUSE_SESSION_ID] = str(attrs[sc.GEN_AI_CONVERSATION_ID])
    app_session = attrs.pop(sc.SESSION_ID, None)
    if app_session:
        out[sc.LANGFUSE_TRACE_METADATA_PREFIX + sc.LANGFUSE_APP_SESSION_METADATA_KEY] = app_session
    if attrs.get(sc.USER_ID):
        out[sc.LANGFUSE_USER_ID] = str(attrs[sc.USER_ID])
    tags = attrs.get(sc.TAGS)
    if tags:
        out[sc.LANGFUSE_TRACE_TAGS] = [str(tag) for tag in tags] if not isinstance(tags, str) else [tags]
    for key, value in attrs.items():
        if key.startswith(sc.METADATA_PREFIX):
            out[sc.LANGFUSE_TRACE_METADATA_PREFIX + key.removeprefix(sc.METADATA_PREFIX)] = value


def translate_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` carrying the ``langfuse.*`` attributes (see the module docstring)."""
    attrs = dict(span.attributes or {})
    kind = observation_type(attrs)
    out: dict[str, Any] = {}
    if kind is not None:
        out[sc.LANGFUSE_OBSERVATION_TYPE] = kind
    _conversation(attrs, out)
    _level(kind, span, attrs, out)
    # Usage and model belong to the LLM span only: never derive them on agent runs.
    if kind in ("generation", "embedding") or (kind is None and sc.GEN_AI_USAGE_INPUT_TOKENS in attrs):
        _generation(attrs, out, span.start_time)
    _io(kind, attrs, out)
    attrs.update(out)
    return _rebuild(span, attrs)


def _trim_value(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return truncate_text(value, limit)
    if isinstance(value, (list, tuple)) and any(isinstance(v, str) and len(v) > limit for v in value):
        return [truncate_text(v, limit) if isinstance(v, str) else v for v in value]
    return value


def trim_span(span: ReadableSpan, limit: int) -> ReadableSpan:
    """A copy with every string attribute (span and events) cut to ``limit`` chars (for HTTP 413)."""
    attributes = {key: _trim_value(value, limit) for key, value in (span.attributes or {}).items()}
    events = [Event(event.name, {k: _trim_value(v, limit) for k, v in (event.attributes or {}).items()},
                    event.timestamp) for event in span.events]
    return _rebuild(span, attributes, events)


def _rebuild(span: ReadableSpan, attributes: Mapping[str, Any], events: list[Event] | None = None) -> ReadableSpan:
    """A new ReadableSpan with other attributes (and events), keeping the SDK's dropped counts."""
    bounded = BoundedAttributes(maxlen=None, attributes=attributes, immutable=True)
    bounded.dropped = span.dropped_attributes
    event_list = BoundedList.from_seq(None, span.events if events is None else events)
    event_list.dropped = span.dropped_events
    links = BoundedList.from_seq(None, span.links)
    links.dropped = span.dropped_links
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource, attributes=bounded,
        events=event_list, links=links, kind=span.kind, status=span.status, start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope)
