"""OpenAI SDK integration: chat completions and the Responses API, sync and async, streamed or not.

``instrument_openai(monitor)`` patches every client (``OpenAI``, ``AsyncOpenAI``, the Azure
clients); ``instrument_openai(monitor, client)`` patches that client only. Each
``chat.completions.create/parse`` and ``responses.create/parse`` call becomes a ``chat {model}``
span with parameters, usage (cached and reasoning tokens included), finish reasons, output
messages with tool calls, cost and, for streams, time to first chunk. The helpers
``chat.completions.stream()`` and ``responses.stream()`` go through ``create`` and are covered;
leaving them early ends the span when they close their response (``sdk_streams``).

Streamed chat completions carry usage only when the caller asks for it with
``stream_options={"include_usage": True}``; we never change the request to get it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents_hub_monitoring.instrument.sdk_common import (
    CallSite,
    LLMRequest,
    capturable,
    given,
    model_name,
    request_parameters,
    require_sdk,
)
from agents_hub_monitoring.instrument.sdk_patching import SdkPatches
from agents_hub_monitoring.telemetry.messages import to_semconv_parts

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["instrument_openai", "uninstrument_openai"]

_CHAT_PARAMETERS = {
    "temperature": "temperature", "top_p": "top_p", "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens", "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty", "seed": "seed", "n": "choice.count", "stop": "stop_sequences",
    "stream": "stream",
}
_RESPONSES_PARAMETERS = {"temperature": "temperature", "top_p": "top_p", "max_output_tokens": "max_tokens",
                         "stream": "stream"}


def _provider(resource: Any) -> str:
    client = getattr(resource, "_client", None)
    return "azure.ai.openai" if "Azure" in type(client).__name__ else "openai"


def _chat_request(resource: Any, kwargs: Any) -> LLMRequest:
    return LLMRequest(model_name(kwargs.get("model")), _provider(resource),
                      messages=capturable(kwargs.get("messages")),
                      parameters=request_parameters(kwargs, _CHAT_PARAMETERS),
                      tools=capturable(kwargs.get("tools")), stream=bool(given(kwargs.get("stream"))))


def _responses_request(resource: Any, kwargs: Any) -> LLMRequest:
    instructions = given(kwargs.get("instructions"))
    return LLMRequest(model_name(kwargs.get("model")), _provider(resource),
                      messages=capturable(kwargs.get("input")),
                      system=to_semconv_parts(instructions) if isinstance(instructions, str) else None,
                      parameters=request_parameters(kwargs, _RESPONSES_PARAMETERS),
                      tools=capturable(kwargs.get("tools")), stream=bool(given(kwargs.get("stream"))))


class _ChatChunks:
    """Rebuilds a chat completion from its chunks: id, model, usage, and per choice the finish
    reason and (when content is captured) the text and tool calls."""

    __slots__ = ("_capture", "_choices", "id", "model", "usage")

    def __init__(self, capture: bool) -> None:
        self._capture = capture
        self._choices: dict[int, dict[str, Any]] = {}
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        self.id = self.id or getattr(chunk, "id", None)
        self.model = getattr(chunk, "model", None) or self.model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            slot = self._choices.get(choice.index)
            if slot is None:
                slot = self._choices[choice.index] = {"text": [], "tools": {}, "finish_reason": None}
            if choice.finish_reason:
                slot["finish_reason"] = choice.finish_reason
            if self._capture and choice.delta is not None:
                self._add_delta(slot, choice.delta)

    @staticmethod
    def _add_delta(slot: dict[str, Any], delta: Any) -> None:
        if delta.content:
            slot["text"].append(delta.content)
        for call in delta.tool_calls or ():
            tool = slot["tools"].setdefault(call.index, {"id": None, "type": "function",
                                                         "function": {"name": "", "arguments": ""}})
            tool["id"] = call.id or tool["id"]
            if call.function is not None:
                tool["function"]["name"] += call.function.name or ""
                tool["function"]["arguments"] += call.function.arguments or ""

    def result(self) -> dict[str, Any]:
        choices = []
        for index in sorted(self._choices):
            slot = self._choices[index]
            message: dict[str, Any] | None = None
            if self._capture:
                message = {"role": "assistant", "content": "".join(slot["text"]) or None}
                if slot["tools"]:
                    message["tool_calls"] = [slot["tools"][i] for i in sorted(slot["tools"])]
            choices.append({"index": index, "finish_reason": slot["finish_reason"], "message": message})
        return {"id": self.id, "model": self.model, "usage": self.usage, "choices": choices}


class _ResponseEvents:
    """A streamed response: the ``response.*`` lifecycle events carry the whole response, the last
    one (``response.completed``) with usage and output."""

    __slots__ = ("response",)

    def __init__(self, capture: bool) -> None:
        self.response: Any = None

    def add(self, event: Any) -> None:
        response = getattr(event, "response", None)
        if response is not None:
            self.response = response

    def result(self) -> Any:
        return self.response


def _sites() -> list[CallSite]:
    openai = require_sdk("openai", "openai")
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.responses import AsyncResponses, Responses

    streams, results = (openai.Stream, openai.AsyncStream), (openai.BaseModel,)
    sites = []
    for owners, describe, accumulator in (((Completions, AsyncCompletions), _chat_request, _ChatChunks),
                                          ((Responses, AsyncResponses), _responses_request, _ResponseEvents)):
        for owner in owners:
            sites.append(CallSite(owner, "create", describe, accumulator, streams, results))
            sites.append(CallSite(owner, "parse", describe, None, streams, results))
    return sites


def _client_resources(client: Any) -> list[Any]:
    return [client.chat.completions, client.responses]


_PATCHES = SdkPatches(_sites, _client_resources)


def instrument_openai(monitor: BaseMonitor, client: Any = None) -> None:
    """Report OpenAI calls to ``monitor``: of every client, or only of ``client``. Idempotent."""
    _PATCHES.instrument(monitor, client)


def uninstrument_openai(client: Any = None) -> None:
    """Undo ``instrument_openai``: the class patches (``client`` None) or that client's patches."""
    _PATCHES.uninstrument(client)
