"""Usage, model, finish reasons and text read from the chunks of a streamed LLM response.

Understands OpenAI chat-completion chunks, OpenAI Responses stream events, Anthropic message
stream events (objects or their dict forms), and plain text chunks. Unknown chunks are counted
and otherwise ignored; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.capture import write_llm_result
from agents_hub_monitoring.telemetry.usage import LLMResult, read_llm_result

__all__ = ["StreamAccumulator"]

_USAGE_FIELDS = ("input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens",
                 "cache_creation_input_tokens", "reasoning_output_tokens")
_RESPONSE_DONE = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _get(source: Any, key: str) -> Any:
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


class StreamAccumulator:
    """Collects what an LLM stream tells about the call; ``apply`` writes it on the handle."""

    __slots__ = ("_first", "_parts", "result")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._first = True
        self.result = LLMResult()

    def add(self, chunk: Any, handle: Any) -> None:
        try:
            if self._first:
                self._first = False
                handle.mark_first_chunk()
            self._read(chunk)
        except Exception as error:
            report_internal_failure("stream chunk", error)

    def apply(self, handle: Any, capture: bool) -> None:
        if self._parts:
            self.result.output = [{"role": "assistant", "content": "".join(self._parts)}]
        write_llm_result(handle, self.result, capture)

    def _read(self, chunk: Any) -> None:
        if isinstance(chunk, str):
            self._parts.append(chunk)
            return
        if isinstance(chunk, (bytes, bytearray)) or chunk is None:
            return
        event = _get(chunk, "type")
        if isinstance(event, str) and event and not _get(chunk, "choices"):
            self._event(event, chunk)
            return
        self._response_fields(chunk)
        self._usage(_get(chunk, "usage"))
        for choice in _get(chunk, "choices") or ():
            delta = _get(choice, "delta")
            text = _get(delta, "content") if delta is not None else None
            if isinstance(text, str):
                self._parts.append(text)
            reason = _get(choice, "finish_reason")
            if reason:
                self.result.finish_reasons.append(str(reason))

    def _event(self, event: str, chunk: Any) -> None:
        if event == "message_start":  # Anthropic: model, id and input usage come first
            message = _get(chunk, "message")
            self._response_fields(message)
            self._usage(_get(message, "usage"))
        elif event == "content_block_delta":
            text = _get(_get(chunk, "delta"), "text")
            if isinstance(text, str):
                self._parts.append(text)
        elif event == "message_delta":  # Anthropic: stop reason and output usage come last
            reason = _get(_get(chunk, "delta"), "stop_reason")
            if reason:
                self.result.finish_reasons.append(str(reason))
            self._usage(_get(chunk, "usage"))
        elif event == "response.output_text.delta":
            text = _get(chunk, "delta")
            if isinstance(text, str):
                self._parts.append(text)
        elif event in _RESPONSE_DONE or event == "response.created":
            self._merge(read_llm_result(_get(chunk, "response")))

    def _response_fields(self, source: Any) -> None:
        if source is None:
            return
        model, response_id = _get(source, "model"), _get(source, "id")
        if model:
            self.result.response_model = str(model)
        if response_id:
            self.result.response_id = str(response_id)

    def _usage(self, usage: Any) -> None:
        if usage is not None:
            self._merge(read_llm_result({"usage": usage}))

    def _merge(self, parsed: LLMResult) -> None:
        result = self.result
        for name in _USAGE_FIELDS:
            value = getattr(parsed, name)
            if value is not None:
                setattr(result, name, value)
        for name in ("response_model", "response_id"):
            if getattr(parsed, name):
                setattr(result, name, getattr(parsed, name))
        if parsed.finish_reasons:
            result.finish_reasons = list(parsed.finish_reasons)
        if parsed.output is not None and not self._parts:
            result.output = parsed.output
