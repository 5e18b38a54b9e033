"""The end of an LLM call, finished off the calling thread.

Reading an LLM result (usage, model, finish reasons, the completion), converting messages to the
GenAI message format, serialising them and pricing the call cost more Python than the span itself
(about 50 us a call). None of it changes what the call did, so the call's end only takes a
snapshot: the handle's values, the result object, and the input messages (the list and each message
dict copied). ``LLMEnd`` is that snapshot, and two consumers finish it:

* the span carries it (``telemetry/pending.py``): the export thread adds its attributes before
  scrubbing, so every exporter, and every span processor given to the monitor, sees them;
* the metric queue carries it too (``DeferredInstruments``): its replay records the call's metrics.

Whichever comes first resolves it, once, under one lock, so the span and the metrics always agree.

What a user may notice: the result object is read when the span is exported or its metrics are
recorded (the batch delay later at most), not when the call returns. Appending to the conversation
after the call (the usual agent loop) changes nothing, since the messages were copied; a result
object, or nested message parts, changed in place before the export would be seen changed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.serialization import coerce_token_count
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.messages import to_semconv_messages
from agents_hub_monitoring.telemetry.usage import LLMResult, read_llm_result

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.operations import LLMCallHandle

__all__ = ["NO_RESULT", "LLMEnd", "LLMInput", "llm_input", "snapshot_messages"]

NO_RESULT = object()
_RESOLVING = threading.RLock()  # re-entrant: a logging handler reached from a resolution may resolve too
# Handle field, span attribute and result field of each token count.
_TOKENS = (
    ("input_tokens", sc.GEN_AI_USAGE_INPUT_TOKENS, "input_tokens"),
    ("output_tokens", sc.GEN_AI_USAGE_OUTPUT_TOKENS, "output_tokens"),
    ("cache_read_tokens", sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "cache_read_input_tokens"),
    ("cache_creation_tokens", sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, "cache_creation_input_tokens"),
    ("reasoning_tokens", sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "reasoning_output_tokens"),
)
_COPIED = ("operation", "provider", "request_model", "response_model", "_cost_usd", "_first_chunk_s",
           "_error_type", "_monitor", *(field for field, _, _ in _TOKENS))


def snapshot_messages(messages: Any) -> Any:
    """The messages as they are now: the list and each dict copied (later appends and edits unseen).

    A tuple, not a list: the garbage collector stops tracking a tuple of plain dicts after its first
    pass, and the snapshot may wait in the export queue through many passes."""
    kind = type(messages)
    if kind is list or kind is tuple:
        return tuple([dict(item) if type(item) is dict else item for item in messages])
    return messages


# What a decorated LLM function was called with, serialised later: (messages or a prompt, system
# instructions, or else all its arguments). A tuple of plain values, which the garbage collector
# stops tracking, rather than an object it would walk while the span waits for export.
LLMInput = tuple[Any, Any, "dict[str, Any] | None"]


def llm_input(messages: Any, system: Any, arguments: Mapping[str, Any] | None) -> LLMInput:
    return snapshot_messages(messages), system, dict(arguments) if arguments is not None else None


def _write_input(monitor: Any, captured: LLMInput, attributes: dict[str, Any]) -> None:
    messages, system, arguments = captured
    if messages is not None:
        _put(attributes, sc.GEN_AI_INPUT_MESSAGES, monitor._content(to_semconv_messages(messages)))
    if system is not None:
        _put(attributes, sc.GEN_AI_SYSTEM_INSTRUCTIONS, monitor._content(system))
    if arguments is not None:
        _put(attributes, sc.INPUT_VALUE, monitor._content(arguments))


def _put(attributes: dict[str, Any], key: str, text: str | None) -> None:
    if text is not None:
        attributes[key] = text


class LLMEnd:
    """An ended LLM call's snapshot; ``span_attributes`` and ``metric_values`` finish it."""

    __slots__ = ("_attributes", "_late", "_metrics", "capture_output", "duration_s", "input", "result",
                 *_COPIED)

    def __init__(self, handle: LLMCallHandle, duration_s: float) -> None:
        # Copied one by one, not in a getattr/setattr loop: this runs on the calling thread.
        self.operation, self.provider = handle.operation, handle.provider
        self.request_model, self.response_model = handle.request_model, handle.response_model
        self._cost_usd, self._first_chunk_s = handle._cost_usd, handle._first_chunk_s
        self._error_type, self._monitor = handle._error_type, handle._monitor
        self.input_tokens, self.output_tokens = handle.input_tokens, handle.output_tokens
        self.cache_read_tokens, self.cache_creation_tokens = handle.cache_read_tokens, handle.cache_creation_tokens
        self.reasoning_tokens = handle.reasoning_tokens
        self.duration_s = duration_s
        self.input: LLMInput | None = handle._pending_input
        self.result: Any = handle._result
        self.capture_output: bool = handle._capture_result
        self._late = handle._late  # attributes the handle kept for its end (content, outcome)
        self._attributes: dict[str, Any] | None = None
        self._metrics: dict[str, Any] | None = None

    def span_attributes(self) -> Mapping[str, Any]:
        self._resolve()
        return self._attributes or {}

    def metric_values(self) -> dict[str, Any]:
        """Keyword arguments of ``Instruments.record_llm_call``."""
        self._resolve()
        return self._metrics or {}

    def _resolve(self) -> None:
        with _RESOLVING:  # one lock for all calls: resolving is short, and a lock per call costs a GC object
            if self._metrics is not None:
                return
            attributes: dict[str, Any] = dict(self._late) if self._late else {}
            self._finish(attributes)
            self._attributes = attributes
            self._metrics = {
                "operation": self.operation, "provider": self.provider, "request_model": self.request_model,
                "response_model": self.response_model, "duration_s": self.duration_s,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": attributes.get(sc.GEN_AI_USAGE_COST), "error_type": self._error_type,
                "time_to_first_chunk_s": self._first_chunk_s, "cache_read_tokens": self.cache_read_tokens,
                "cache_write_tokens": self.cache_creation_tokens, "reasoning_tokens": self.reasoning_tokens}
            # The span may live on in a queue: keep only what was made of these.
            self.result = self.input = self._late = None

    def _finish(self, attributes: dict[str, Any]) -> None:
        """Input, result and price, each guarded on its own: one that fails costs only its attributes."""
        if self.input is not None:
            try:
                _write_input(self._monitor, self.input, attributes)
            except Exception as error:
                report_internal_failure("LLM call input", error)
        if self.result is not NO_RESULT:
            try:
                self._read_result(attributes)
            except Exception as error:
                report_internal_failure("LLM call result", error)
        self._price(attributes)

    def _read_result(self, attributes: dict[str, Any]) -> None:
        """Usage, response model and id, finish reasons and (when captured) the completion."""
        result = self.result
        if isinstance(result, str):
            if self.capture_output:
                self._write_output(result, attributes)
            return
        parsed = result if isinstance(result, LLMResult) else read_llm_result(result)
        for field, key, source in _TOKENS:
            count = coerce_token_count(getattr(parsed, source))
            if count is not None:
                setattr(self, field, count)
                attributes[key] = count
        if parsed.response_model:
            self.response_model = str(parsed.response_model)
            attributes[sc.GEN_AI_RESPONSE_MODEL] = self.response_model
        if parsed.response_id:
            attributes[sc.GEN_AI_RESPONSE_ID] = str(parsed.response_id)
        if parsed.finish_reasons:
            attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(str(reason) for reason in parsed.finish_reasons)
        if self.capture_output:
            # Something read_llm_result does not recognise at all is recorded as it is.
            recognised = parsed.response_model or parsed.input_tokens is not None or parsed.finish_reasons
            output = parsed.output if parsed.output is not None or recognised else result
            if output is not None:
                self._write_output(output, attributes)

    def _write_output(self, value: Any, attributes: dict[str, Any]) -> None:
        _put(attributes, sc.GEN_AI_OUTPUT_MESSAGES, self._monitor._content(to_semconv_messages(value, "assistant")))

    def _price(self, attributes: dict[str, Any]) -> None:
        try:
            cost = self._monitor._pricing.cost(
                provider=self.provider, model=self.response_model or self.request_model,
                input_tokens=self.input_tokens, output_tokens=self.output_tokens,
                cache_read_input_tokens=self.cache_read_tokens,
                cache_creation_input_tokens=self.cache_creation_tokens, reported_cost=self._cost_usd)
        except Exception as error:  # the tokens and the duration still count
            report_internal_failure("price lookup", error)
            return
        if cost is not None:
            attributes.update({
                sc.GEN_AI_USAGE_COST: cost.amount, sc.GEN_AI_USAGE_COST_AMOUNT: cost.amount,
                sc.GEN_AI_USAGE_COST_CURRENCY: cost.currency,
                # the contract's two values; which local price (override or genai-prices) stays ours
                sc.GEN_AI_USAGE_COST_SOURCE: "provider" if cost.source == "provider" else "local"})
