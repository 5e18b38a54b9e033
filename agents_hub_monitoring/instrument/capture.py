"""What a decorated call records from its arguments and its result, per kind of operation.

Content (arguments, results, messages, documents) is recorded only when both the decorator's
switch (``capture_input`` / ``capture_output``) and the monitor's ``capture_content`` are on,
serialised by ``serialization.dumps`` rules and cut to the monitor's content limit. Structure
(token usage, document counts, moderation verdicts, the model) is recorded regardless.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring.monitors.handles import SpanHandle, attribute_value
from agents_hub_monitoring.monitors.llm_end import LLMInput, llm_input
from agents_hub_monitoring.pricing import normalize_provider
from agents_hub_monitoring.serialization import coerce_float
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.usage import LLMResult

if TYPE_CHECKING:
    from agents_hub_monitoring.instrument.plan import Plan
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["content", "start_attributes", "write_llm_metadata", "write_llm_result", "write_output"]

_INF = float("inf")
_INT64 = 2**63
_MAX_ITEMS = 100  # what to_jsonable keeps of a container
# OpenAI names for two request parameters the conventions name differently.
_PARAMETER_ALIASES = {"stop": "stop_sequences", "n": "choice.count"}


def _make_iterencode() -> Any:
    """The stdlib's C encoder for compact JSON (no circular-reference markers: only flat values get here)."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.iterencode
    return make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)


_iterencode = _make_iterencode()


def content(monitor: BaseMonitor, value: Any) -> str | None:
    """``monitor._content(value)`` when capture is on, with fast paths for the usual small values:
    strings, ints, and flat dicts/lists/tuples of short ASCII scalars (typical arguments).

    Callers check ``capture_content`` first. The fast paths give exactly what ``dumps`` gives.
    """
    kind = type(value)
    limit = monitor._content_limit
    if kind is str:
        if len(value) <= limit and value.isascii():
            return value
    elif kind is int:
        if -_INT64 <= value < _INT64 and limit >= 20:
            return f"{value}"
    elif (kind is dict or kind is list or kind is tuple) and len(value) <= _MAX_ITEMS:
        if kind is dict:
            for key in value:
                if type(key) is not str or not key.isascii():
                    return monitor._content(value)
        for item in value.values() if kind is dict else value:
            item_kind = type(item)
            if item_kind is str:
                if len(item) > limit or not item.isascii():
                    return monitor._content(value)
            elif item_kind is int:
                if not -_INT64 <= item < _INT64:
                    return monitor._content(value)
            elif item_kind is float:
                if not -_INF < item < _INF:
                    return monitor._content(value)
            elif item is not None and item_kind is not bool:
                return monitor._content(value)
        text = "".join(_iterencode(value, 0))
        if len(text) <= limit:
            return text
    return monitor._content(value)


def start_attributes(plan: Plan, monitor: BaseMonitor, args: tuple[Any, ...], kwargs: dict[str, Any]
                     ) -> tuple[str, Mapping[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Span name, start attributes, handle arguments, and the captured input (attributes the span
    gets at its end: content is serialised now but not taken through the SDK's checks twice)."""
    capture = plan.capture_input and monitor.capture_content
    llm = plan.kind == "llm"
    if not capture and not llm:
        return plan.span_name, plan.attributes, plan.handle_kwargs, None
    binder = plan.binder
    if binder.simple:  # Binder.bind inlined for the usual signature
        bound = dict(zip(binder.names, args, strict=False))
        if kwargs:
            bound.update(kwargs)
        if binder.first is not None:
            bound.pop(binder.first, None)
    else:
        bound = binder.bind(args, kwargs)
    if llm:
        attributes = dict(plan.attributes)
        span_name, handle_kwargs = _llm_request(plan, bound, attributes)
        if capture:
            handle_kwargs["pending_input"] = _llm_input(bound)
        return span_name, attributes, handle_kwargs, None
    if not bound:
        return plan.span_name, plan.attributes, plan.handle_kwargs, None
    key = _INPUT_KEYS.get(plan.kind, sc.INPUT_VALUE)
    if plan.kind == "retrieval":
        value = bound["query"] if "query" in bound else (next(iter(bound.values())) if len(bound) == 1 else bound)
    else:
        value = bound
    text = content(monitor, value)
    return plan.span_name, plan.attributes, plan.handle_kwargs, None if text is None else {key: text}


_INPUT_KEYS = {"tool": sc.GEN_AI_TOOL_CALL_ARGUMENTS, "retrieval": sc.GEN_AI_RETRIEVAL_QUERY_TEXT}


def _llm_request(plan: Plan, bound: dict[str, Any], attributes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    model = plan.request_model
    if model is None and isinstance(bound.get("model"), str) and bound["model"]:
        model = bound["model"]
        attributes[sc.GEN_AI_REQUEST_MODEL] = model
    provider = plan.provider
    if provider is None and isinstance(bound.get("provider"), str):
        provider = normalize_provider(bound["provider"])
        if provider:
            attributes[sc.GEN_AI_PROVIDER_NAME] = provider
    for key, value in bound.items():
        name = _PARAMETER_ALIASES.get(key, key)
        if name in sc.REQUEST_PARAMETERS and value is not None and not isinstance(value, Mapping):
            attributes[sc.GEN_AI_REQUEST_PREFIX + name] = attribute_value(value)
    span_name = sc.span_name(plan.operation, model) if plan.dynamic_name else plan.span_name
    return span_name, {"operation": plan.operation, "provider": provider, "request_model": model}


def _llm_input(bound: dict[str, Any]) -> LLMInput | None:
    """The messages (or prompt), system instructions, or else all arguments: serialised after the call."""
    messages = bound.get("messages")
    if messages is None and isinstance(bound.get("prompt"), str):
        messages = bound["prompt"]
    system = bound.get("system")
    if messages is None and system is None:
        return llm_input(None, None, bound) if bound else None
    return llm_input(messages, system, None)


def write_output(plan: Plan, monitor: BaseMonitor, handle: Any, result: Any) -> None:
    """Record a successful call's result on its span, the way its kind calls for."""
    kind = plan.kind
    capture = plan.capture_output and monitor.capture_content
    if kind == "llm":
        write_llm_result(handle, result, capture)
    elif kind == "retrieval":
        _write_documents(monitor, handle, result, capture)
    elif kind == "memory":
        if isinstance(result, (list, tuple)):
            handle.span.set_attribute(sc.RESULT_COUNT, len(result))
        if capture:
            SpanHandle.set_output(handle, result)
    elif kind == "moderation":
        _write_verdict(handle, result)
    elif capture and result is not None:
        text = content(monitor, result)
        if text is not None:
            handle._set_late(sc.GEN_AI_TOOL_CALL_RESULT if kind == "tool" else sc.OUTPUT_VALUE, text)


def write_llm_metadata(handle: Any, parsed: LLMResult) -> None:
    """Usage, response id and model and finish reasons: structure, recorded whatever the capture switches."""
    handle.set_usage(parsed.input_tokens, parsed.output_tokens,
                     cache_read_input_tokens=parsed.cache_read_input_tokens,
                     cache_creation_input_tokens=parsed.cache_creation_input_tokens,
                     reasoning_output_tokens=parsed.reasoning_output_tokens)
    handle.set_response(model=parsed.response_model, response_id=parsed.response_id,
                        finish_reasons=parsed.finish_reasons or None)


def write_llm_result(handle: Any, result: Any, capture: bool) -> None:
    """Usage, response model, finish reasons and (when captured) the completion of an LLM result,
    read after the call ends (``LLMCallHandle.set_result``)."""
    handle.set_result(result, capture_output=capture)


def _write_documents(monitor: BaseMonitor, handle: Any, result: Any, capture: bool) -> None:
    if not isinstance(result, (list, tuple)):
        if capture and result is not None:
            SpanHandle.set_output(handle, result)
        return
    handle.documents = len(result)
    handle.span.set_attribute(sc.RESULT_COUNT, len(result))
    scores = [coerce_float(doc.get("score")) for doc in result if isinstance(doc, Mapping)]
    scores = [score for score in scores if score is not None]
    if scores and len(scores) == len(result):
        handle.span.set_attribute(sc.RESULT_SCORES, scores)
    if capture:
        text = monitor._content(list(result))
        if text is not None:
            handle._set_late(sc.GEN_AI_RETRIEVAL_DOCUMENTS, text)


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


def _write_verdict(handle: Any, result: Any) -> None:
    """A moderation result: a bool (flagged), or a mapping/object with ``flagged`` and details."""
    if isinstance(result, bool):
        handle.set_result(result)
        return
    flagged = _field(result, "flagged")
    if isinstance(flagged, bool):
        categories = _field(result, "categories")
        categories = [str(c) for c in categories] if isinstance(categories, (list, tuple)) else ()
        handle.set_result(flagged, category=_field(result, "category"), categories=categories,
                          action=_field(result, "action"), score=_field(result, "score"))
