"""Handles for each kind of agent operation: agent run, LLM call, tool, retrieval, memory, moderation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span

from agents_hub_monitoring.monitors.handles import SpanHandle, current_agent_name
from agents_hub_monitoring.monitors.llm_end import NO_RESULT, LLMEnd, LLMInput
from agents_hub_monitoring.serialization import coerce_float, coerce_token_count
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.messages import to_semconv_messages
from agents_hub_monitoring.telemetry.pending import attach

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = [
    "AgentRunHandle", "LLMCallHandle", "MemoryHandle", "ModerationHandle", "RetrievalHandle",
    "ToolCallHandle",
]


class AgentRunHandle(SpanHandle):
    """An agent run (`invoke_agent {name}`); its output is the turn's answer."""

    __slots__ = ("agent_name", "model")

    def __init__(self, span: Span, monitor: BaseMonitor, agent_name: str | None, model: str | None = None):
        super().__init__(span, monitor)
        self.agent_name = agent_name
        self.model = model

    def _before_end(self, duration_s: float) -> None:
        self._set_outcome()
        self._monitor._instruments.record_agent_run(
            agent_name=self.agent_name, request_model=self.model, duration_s=duration_s,
            error_type=self._error_type)


def as_list(value: Any) -> list[Any]:
    """A list view of what a caller passed as "several": None -> [], one string or object -> [it];
    a generator is not consumed (that would take it from its owner), so it counts as one item."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


# Handle field and span attribute for each argument of ``LLMCallHandle.set_usage``, in order.
_USAGE_FIELDS = (
    ("input_tokens", sc.GEN_AI_USAGE_INPUT_TOKENS),
    ("output_tokens", sc.GEN_AI_USAGE_OUTPUT_TOKENS),
    ("cache_read_tokens", sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("cache_creation_tokens", sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS),
    ("reasoning_tokens", sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
)


class LLMCallHandle(SpanHandle):
    """An LLM call (`chat {model}`): usage, response model, finish reasons, cost at the end.

    What the call returned and the messages it was given are read, and the call priced, after it
    ended, off the calling thread (``monitors/llm_end.py``).
    """

    __slots__ = ("_capture_result", "_cost_usd", "_first_chunk_s", "_pending_input", "_result",
                 "cache_creation_tokens", "cache_read_tokens", "input_tokens", "operation", "output_tokens",
                 "provider", "reasoning_tokens", "request_model", "response_model")

    def __init__(self, span: Span, monitor: BaseMonitor, *, operation: str, provider: str | None,
                 request_model: str | None, pending_input: LLMInput | None = None) -> None:
        super().__init__(span, monitor)
        self.operation = operation
        self.provider = provider
        self.request_model = request_model
        self.response_model: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.cache_creation_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self._cost_usd: float | None = None
        self._first_chunk_s: float | None = None
        self._pending_input = pending_input
        self._result: Any = NO_RESULT
        self._capture_result = False
        monitor._pricing.warm_up_in_background()  # once per monitor: prices ready by this call's end

    def set_usage(self, input_tokens: Any = None, output_tokens: Any = None, *,
                  cache_read_input_tokens: Any = None, cache_creation_input_tokens: Any = None,
                  reasoning_output_tokens: Any = None) -> None:
        """Token usage; ``input_tokens`` includes cached tokens (GenAI convention). Bad counts are dropped."""
        values = (input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens,
                  reasoning_output_tokens)
        usage: dict[str, int] = {}
        for (field, key), value in zip(_USAGE_FIELDS, values, strict=True):
            if value is None:
                continue
            count = coerce_token_count(value)
            if count is not None:
                setattr(self, field, count)
                usage[key] = count
        if usage:
            self.span.set_attributes(usage)  # one lock and one call into the SDK for all counts

    def set_response(self, *, model: str | None = None, response_id: str | None = None,
                     finish_reasons: Sequence[str] | str | None = None) -> None:
        if model:
            self.response_model = str(model)
            self.span.set_attribute(sc.GEN_AI_RESPONSE_MODEL, self.response_model)
        if response_id:
            self.span.set_attribute(sc.GEN_AI_RESPONSE_ID, str(response_id))
        if finish_reasons:
            self.span.set_attribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, [str(r) for r in as_list(finish_reasons)])

    def set_output(self, value: Any) -> None:
        """The completion: text, a message, or a list of messages (role defaults to assistant)."""
        if self._monitor.capture_content:
            self._set_content(sc.GEN_AI_OUTPUT_MESSAGES, to_semconv_messages(value, "assistant"))

    def set_result(self, result: Any, *, capture_output: bool = True) -> None:
        """What the call returned (an SDK response, its dict, an ``LLMResult``, text): its usage, response
        model, finish reasons and (with ``capture_output`` and content capture on) its completion are
        read after the call ends, off the calling thread. What it finds wins over what ``set_usage``,
        ``set_response`` and ``set_output`` gave, whether they were called before or after it."""
        self._result = result
        self._capture_result = bool(capture_output) and self._monitor.capture_content

    def set_cost(self, amount_usd: Any) -> None:
        """A cost the provider reported; it wins over prices computed from tokens."""
        self._cost_usd = coerce_float(amount_usd)

    def mark_first_chunk(self) -> None:
        """Call when the first streamed chunk arrives (records time to first chunk once)."""
        if self._first_chunk_s is None:
            self._first_chunk_s = time.perf_counter() - self._started
            self.span.set_attribute(sc.TIME_TO_FIRST_CHUNK, self._first_chunk_s)

    def _before_end(self, duration_s: float) -> None:
        end = LLMEnd(self, duration_s)  # takes over the attributes kept for the end
        self._late = None
        span = self.span
        if not attach(span, end) and span.is_recording():  # not an SDK span: finish it here
            span.set_attributes(end.span_attributes())
        # Queued: the metric replay finishes ``end`` if the export thread has not yet.
        self._monitor._instruments.record_llm_end(end)


class ToolCallHandle(SpanHandle):
    """A tool call (`execute_tool {tool}`)."""

    __slots__ = ("tool_name",)

    def __init__(self, span: Span, monitor: BaseMonitor, tool_name: str) -> None:
        super().__init__(span, monitor)
        self.tool_name = tool_name

    def set_result(self, value: Any) -> None:
        self._set_content(sc.GEN_AI_TOOL_CALL_RESULT, value)

    set_output = set_result

    def _before_end(self, duration_s: float) -> None:
        self._set_outcome()
        self._monitor._instruments.record_tool_call(
            tool_name=self.tool_name, agent_name=current_agent_name.get(), duration_s=duration_s,
            error_type=self._error_type)


class RetrievalHandle(SpanHandle):
    """A retrieval (`retrieval {source}`): documents, their count and relevance scores."""

    __slots__ = ("documents", "source")

    def __init__(self, span: Span, monitor: BaseMonitor, source: str | None) -> None:
        super().__init__(span, monitor)
        self.source = source
        self.documents: int | None = None

    def set_documents(self, documents: Sequence[Any], scores: Sequence[Any] | None = None) -> None:
        found = as_list(documents)
        self.documents = len(found)
        self.span.set_attribute(sc.RESULT_COUNT, self.documents)
        self._set_content(sc.GEN_AI_RETRIEVAL_DOCUMENTS, found)
        cleaned = [s for s in (coerce_float(score) for score in as_list(scores)) if s is not None]
        if cleaned:
            self.span.set_attribute(sc.RESULT_SCORES, cleaned)

    set_output = set_documents

    def _before_end(self, duration_s: float) -> None:
        self._monitor._instruments.record_retrieval(
            source=self.source, duration_s=duration_s, documents=self.documents, error_type=self._error_type)


class MemoryHandle(SpanHandle):
    """A memory operation (`search_memory`, `create_memory`, ...)."""

    __slots__ = ("operation", "store")

    def __init__(self, span: Span, monitor: BaseMonitor, operation: str, store: str | None) -> None:
        super().__init__(span, monitor)
        self.operation = operation
        self.store = store

    def set_result(self, value: Any, count: int | None = None) -> None:
        self.set_output(value)
        count = coerce_token_count(count) if count is not None else None
        if count is None and isinstance(value, (list, tuple)):
            count = len(value)
        if count is not None:
            self.span.set_attribute(sc.RESULT_COUNT, count)

    def _before_end(self, duration_s: float) -> None:
        self._monitor._instruments.record_memory_operation(
            operation=self.operation, store=self.store, error_type=self._error_type)


class ModerationHandle(SpanHandle):
    """A moderation / guardrail check (`apply_guardrail {component}`)."""

    __slots__ = ("action", "category", "flagged")

    def __init__(self, span: Span, monitor: BaseMonitor) -> None:
        super().__init__(span, monitor)
        self.flagged = False
        self.category: str | None = None
        self.action: str | None = None

    def set_result(self, flagged: bool, *, category: str | None = None, categories: Sequence[str] = (),
                   action: str | None = None, score: float | None = None) -> None:
        self.flagged = bool(flagged)
        categories = as_list(categories)
        self.category = str(category) if category else (str(categories[0]) if categories else None)
        self.action = str(action) if action else None
        self.span.set_attribute(sc.MODERATION_FLAGGED, self.flagged)
        self.set_attribute(sc.MODERATION_CATEGORY, self.category)
        self.set_attribute(sc.MODERATION_ACTION, self.action)
        if categories:
            self.span.set_attribute(sc.MODERATION_CATEGORIES, [str(c) for c in categories])
        if coerce_float(score) is not None:
            self.span.set_attribute(sc.GEN_AI_EVALUATION_SCORE_VALUE, coerce_float(score))

    def _before_end(self, duration_s: float) -> None:
        self._monitor._instruments.record_moderation(
            category=self.category, action=self.action, flagged=self.flagged)
