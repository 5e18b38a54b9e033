"""Read usage, model, finish reasons and output from whatever an LLM call returned.

Providers and frameworks hand back OpenAI chat completions, OpenAI responses, Anthropic
messages, their ``model_dump()`` dicts, or the Agents Hub ``LLMResponse``. This reads all of them
without raising; what it cannot find stays None.

The Responses API has no finish reason, only a status; it is mapped to the chat completion
vocabulary so that one query finds truncated or tool-calling turns across both APIs:
completed -> ``stop`` (``tool_calls`` when it called a function), incomplete -> ``length`` for
``max_output_tokens`` (``content_filter`` stays), failed -> ``error``, cancelled stays; a response
still in progress (a stream closed early) has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents_hub_monitoring.serialization import coerce_token_count, to_jsonable

__all__ = ["LLMResult", "read_llm_result"]


@dataclass
class LLMResult:
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    output: Any = None


def _get(source: Any, key: str) -> Any:
    if type(source) is dict:  # the usual case (model_dump() output), without the ABC check
        return source.get(key)
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


_PLAIN_TEXT_LIMIT = 10_000  # to_jsonable's string limit: longer strings take the walker, which cuts them


def _plain_message(message: Any) -> Any:
    """``to_jsonable(message)`` for the usual flat dict of short ASCII strings (a copy), else the walker."""
    if type(message) is dict:
        for key, value in message.items():
            if type(key) is not str or (value is not None and (
                    type(value) is not str or len(value) > _PLAIN_TEXT_LIMIT or not value.isascii())):
                return to_jsonable(message)
        return dict(message)
    return to_jsonable(message)


def _first(source: Any, *keys: str) -> Any:
    for key in keys:
        value = _get(source, key)
        if value is not None:
            return value
    return None


def read_llm_result(result: Any) -> LLMResult:
    """Everything we can learn from an LLM result object or dict."""
    if result is None or isinstance(result, (str, bytes)):
        return LLMResult(output=result)
    if not isinstance(result, Mapping) and not hasattr(result, "__dict__"):
        result = to_jsonable(result)
    parsed = LLMResult()
    _read_usage(_get(result, "usage"), parsed)
    model = _get(result, "model")
    parsed.response_model = str(model) if model else None
    response_id = _get(result, "id")
    parsed.response_id = str(response_id) if response_id else None
    _read_choices(result, parsed)
    return parsed


def _read_usage(usage: Any, parsed: LLMResult) -> None:
    if usage is None:
        return
    # Anthropic reports input without cache reads; OpenAI's prompt_tokens already include them.
    anthropic_input = _get(usage, "input_tokens") if _get(usage, "cache_read_input_tokens") is not None else None
    parsed.input_tokens = coerce_token_count(_first(usage, "prompt_tokens", "input_tokens"))
    parsed.output_tokens = coerce_token_count(_first(usage, "completion_tokens", "output_tokens"))
    parsed.total_tokens = coerce_token_count(_get(usage, "total_tokens"))
    details = _first(usage, "prompt_tokens_details", "input_tokens_details")
    parsed.cache_read_input_tokens = coerce_token_count(
        _first(usage, "cache_read_input_tokens") if details is None else _get(details, "cached_tokens"))
    parsed.cache_creation_input_tokens = coerce_token_count(_get(usage, "cache_creation_input_tokens"))
    if anthropic_input is not None:
        base = coerce_token_count(anthropic_input) or 0
        parsed.input_tokens = base + (parsed.cache_read_input_tokens or 0) + (parsed.cache_creation_input_tokens or 0)
    output_details = _first(usage, "completion_tokens_details", "output_tokens_details")
    if output_details is not None:  # OpenAI says reasoning_tokens, Anthropic thinking_tokens
        parsed.reasoning_output_tokens = coerce_token_count(_first(output_details, "reasoning_tokens",
                                                                   "thinking_tokens"))


def _read_choices(result: Any, parsed: LLMResult) -> None:
    choices = _get(result, "choices")
    if choices:
        messages = []
        for choice in choices:
            reason = _get(choice, "finish_reason")
            if reason:
                parsed.finish_reasons.append(str(reason))
            message = _get(choice, "message")
            if message is not None:
                message = _plain_message(message)
                if reason and isinstance(message, dict):
                    message["finish_reason"] = str(reason)
                messages.append(message)
        parsed.output = messages or None
        return
    if _get(result, "object") == "response" and isinstance(_get(result, "output"), (list, tuple)):
        _read_response_items(result, parsed)
        return
    reason = _first(result, "stop_reason", "finish_reason", "status")
    if reason:
        parsed.finish_reasons.append(str(reason))
    content = _get(result, "content")
    tool_calls = _get(result, "tool_calls")
    if content is not None or tool_calls:
        message: dict[str, Any] = {"role": "assistant", "content": to_jsonable(content)}
        if tool_calls:
            message["tool_calls"] = to_jsonable(tool_calls)
        if reason:
            message["finish_reason"] = str(reason)
        parsed.output = [message]
    elif _get(result, "output_text") is not None:
        parsed.output = [{"role": "assistant", "content": str(_get(result, "output_text"))}]


_INCOMPLETE_REASONS = {"max_output_tokens": "length"}


def _read_response_items(result: Any, parsed: LLMResult) -> None:
    """An OpenAI Responses API object: all output items form one assistant message."""
    blocks: list[Any] = []
    called = False
    for item in _get(result, "output") or ():
        kind = _get(item, "type")
        if kind == "message":
            blocks.extend(to_jsonable(_get(item, "content")) or ())
        elif kind == "reasoning" and not _get(item, "summary"):
            continue  # the reasoning itself is hidden; an empty part would only be noise
        else:
            called = called or kind == "function_call"
            blocks.append(to_jsonable(item))
    status = str(_get(result, "status") or "")
    if status == "completed":
        reason: str | None = "tool_calls" if called else "stop"
    elif status == "incomplete":
        detail = _get(_get(result, "incomplete_details"), "reason")
        reason = _INCOMPLETE_REASONS.get(str(detail), str(detail)) if detail else "length"
    else:
        # failed and cancelled are outcomes; in_progress/queued (a stream closed early) have none yet
        reason = {"failed": "error", "cancelled": "cancelled"}.get(status)
    if reason:
        parsed.finish_reasons.append(reason)
    if blocks:
        message: dict[str, Any] = {"role": "assistant", "content": blocks}
        if reason:
            message["finish_reason"] = reason
        parsed.output = [message]
