"""Span processors that run on the calling thread; kept to the bare minimum for speed."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.serialization import dumps
from agents_hub_monitoring.telemetry import semconv
from agents_hub_monitoring.telemetry.context import _EMPTY, ConversationContext, _current
from agents_hub_monitoring.telemetry.pending import materialise

__all__ = ["ConversationStampingProcessor", "GuardedSpanProcessor", "StartOnlyProcessor", "conversation_attributes"]


def conversation_attributes(conversation: ConversationContext) -> dict[str, object]:
    """The span attributes that identify a conversation (Langfuse reads these from every span)."""
    attributes: dict[str, object] = {}
    if conversation.conversation_id:
        attributes[semconv.GEN_AI_CONVERSATION_ID] = conversation.conversation_id
    if conversation.user_id:
        attributes[semconv.USER_ID] = conversation.user_id
    if conversation.session_id:
        attributes[semconv.SESSION_ID] = conversation.session_id
    if conversation.tags:
        attributes[semconv.TAGS] = list(conversation.tags)
    for key, value in conversation.metadata.items():
        # Nested values go as JSON (what the official Langfuse SDK does too), never a Python repr.
        attributes[semconv.METADATA_PREFIX + str(key)] = (
            value if isinstance(value, (str, bool, int, float)) else dumps(value)
        )
    return attributes


class StartOnlyProcessor(SpanProcessor):
    """A processor that only stamps spans as they start: ending, flushing and shutting down are no-ops."""

    reads_end_attributes = False  # see GuardedSpanProcessor

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # nothing is buffered, so there is never anything left to flush


class ConversationStampingProcessor(StartOnlyProcessor):
    """Stamps the bound conversation context on every span that starts, whoever starts it.

    Spans from other instrumentations on our provider (for example an official OpenAI
    instrumentation) get the conversation attributes too, which Langfuse needs on every span.
    """

    def __init__(self) -> None:
        # One tuple, swapped in a single assignment, so concurrent threads never mix key and value.
        self._cache: tuple[ConversationContext | None, dict[str, object]] = (None, {})

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # Runs for every span: read the variable directly and test the usual "none bound" by identity.
        conversation = _current.get()
        if conversation is _EMPTY or conversation.is_empty():
            return
        # Contexts are immutable and usually reused for many spans: build the dict once.
        cached = self._cache
        if cached[0] is not conversation:
            try:
                cached = (conversation, conversation_attributes(conversation))
            except Exception as error:  # e.g. a metadata key whose str() raises: stamp nothing
                report_internal_failure("conversation stamping", error)
                cached = (conversation, {})
            self._cache = cached
        span.set_attributes(cached[1])


class GuardedSpanProcessor(SpanProcessor):
    """Runs a user-supplied processor so that its failures never reach the span's caller.

    The SDK calls processors in a plain loop: one that raises would break the user's code and
    skip every processor after it (including our exporters).
    """

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self._where = f"span processor {type(inner).__name__}"
        # A processor may read what a span gets at its end (telemetry/pending.py): those are written
        # in before it sees the span, on the calling thread. Ours that never read them say so, and
        # leave that work to the export thread.
        self._materialise = bool(getattr(inner, "reads_end_attributes", True))

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self.inner.on_start(span, parent_context=parent_context)
        except Exception as error:
            report_internal_failure(self._where, error)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if self._materialise:
                materialise(span)
            self.inner.on_end(span)
        except Exception as error:
            report_internal_failure(self._where, error)

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception as error:
            report_internal_failure(self._where, error)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception as error:
            report_internal_failure(self._where, error)
            return False
