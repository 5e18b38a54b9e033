"""Anthropic SDK integration: Messages API (and its beta), sync and async, streamed or not.

``instrument_anthropic(monitor)`` patches every client (``Anthropic``, ``AsyncAnthropic``, the
Bedrock and Vertex clients); ``instrument_anthropic(monitor, client)`` that client only. Each
``messages.create/parse`` call and each ``messages.stream()`` helper becomes a ``chat {model}``
span with parameters, usage (cache reads and writes, thinking tokens), the stop reason, output
content with tool calls, cost and, for streams, time to first chunk.

The SDK's own OpenTelemetry span (``anthropic.messages.create``, HTTP-level, emitted when a global
tracer provider is set) nests under ours; we leave it alone.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.sdk_common import (
    CallSite,
    LLMCall,
    LLMRequest,
    PatchState,
    capturable,
    given,
    model_name,
    request_parameters,
    require_sdk,
)
from agents_hub_monitoring.instrument.sdk_patching import SdkPatches, call_async, call_sync
from agents_hub_monitoring.serialization import to_jsonable
from agents_hub_monitoring.telemetry.messages import to_semconv_parts

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["instrument_anthropic", "uninstrument_anthropic"]

_PARAMETERS = {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p", "top_k": "top_k",
               "stop_sequences": "stop_sequences", "stream": "stream"}
_PROVIDERS = {"Bedrock": "aws.bedrock", "Vertex": "gcp.vertex_ai"}


def _provider(resource: Any) -> str:
    name = type(getattr(resource, "_client", None)).__name__
    return next((provider for key, provider in _PROVIDERS.items() if key in name), "anthropic")


def _messages_request(resource: Any, kwargs: Any) -> LLMRequest:
    system = capturable(kwargs.get("system"))
    return LLMRequest(model_name(kwargs.get("model")), _provider(resource),
                      messages=capturable(kwargs.get("messages")),
                      system=to_semconv_parts(system) if system is not None else None,
                      parameters=request_parameters(kwargs, _PARAMETERS),
                      tools=capturable(kwargs.get("tools")), stream=bool(given(kwargs.get("stream"))))


class _MessageEvents:
    """Rebuilds a message from its events: id, model and usage from ``message_start``, the stop
    reason and final (cumulative) usage from ``message_delta``, content blocks from the deltas."""

    __slots__ = ("_blocks", "_capture", "_json", "id", "model", "stop_reason", "usage")

    def __init__(self, capture: bool) -> None:
        self._capture = capture
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json: dict[int, str] = {}
        self.id: str | None = None
        self.model: str | None = None
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            self.id, self.model = event.message.id, event.message.model
            self._merge_usage(event.message.usage)
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self._merge_usage(event.usage)
        elif self._capture and kind == "content_block_start":
            self._blocks[event.index] = dict(to_jsonable(event.content_block))
        elif self._capture and kind == "content_block_delta":
            self._add_delta(event.index, event.delta)

    def _merge_usage(self, usage: Any) -> None:
        for key, value in (to_jsonable(usage) or {}).items():
            if value is not None:  # message_delta repeats cumulative counts; absent ones keep the start's
                self.usage[key] = value

    def _add_delta(self, index: int, delta: Any) -> None:
        block = self._blocks.get(index)
        kind = getattr(delta, "type", None)
        if block is None:
            return
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta.text
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.thinking
        elif kind == "input_json_delta":
            self._json[index] = self._json.get(index, "") + delta.partial_json

    def result(self) -> dict[str, Any]:
        content = []
        for index in sorted(self._blocks):
            block = self._blocks[index]
            if index in self._json:
                block["input"] = _decode(self._json[index])
            content.append(block)
        return {"type": "message", "id": self.id, "model": self.model, "content": content or None,
                "stop_reason": self.stop_reason, "usage": self.usage or None}


def _decode(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text  # a stream cut inside the arguments: keep what arrived


def _wrap_stream_helper(site: CallSite, original: Callable[..., Any], state: PatchState) -> Callable[..., Any]:
    """``messages.stream()`` builds a manager that sends the request on ``with``/``async with``:
    the span starts then, around the manager's own request."""

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = original(self, *args, **kwargs)
        try:
            _hook_manager(manager, site, state, self, {**kwargs, "stream": True})
        except Exception as error:
            report_internal_failure("anthropic stream helper", error)
        return manager

    return wrapper


def _hook_manager(manager: Any, site: CallSite, state: PatchState, resource: Any, kwargs: dict[str, Any]) -> None:
    # The managers keep the request in a private (name-mangled) attribute: a callable (sync) or a
    # coroutine (async). Without it (another SDK version) the helper just runs unobserved.
    attribute = next((name for name in vars(manager) if name.endswith("__api_request")), None)
    if attribute is None:
        return
    request = getattr(manager, attribute)
    if callable(request):
        def send() -> Any:
            return call_sync(LLMCall.begin(state, site, resource, kwargs), request)

        setattr(manager, attribute, send)
    else:
        async def send_async() -> Any:
            return await call_async(LLMCall.begin(state, site, resource, kwargs), lambda: request)

        setattr(manager, attribute, send_async())


def _sites() -> list[CallSite]:
    anthropic = require_sdk("anthropic", "anthropic")
    from anthropic.resources.beta.messages import AsyncMessages as AsyncBetaMessages
    from anthropic.resources.beta.messages import Messages as BetaMessages
    from anthropic.resources.messages import AsyncMessages, Messages

    streams, results = (anthropic.Stream, anthropic.AsyncStream), (anthropic.BaseModel,)
    sites = []
    for owner in (Messages, AsyncMessages, BetaMessages, AsyncBetaMessages):
        sites.append(CallSite(owner, "create", _messages_request, _MessageEvents, streams, results))
        sites.append(CallSite(owner, "parse", _messages_request, None, streams, results))
        sites.append(CallSite(owner, "stream", _messages_request, _MessageEvents, streams, results,
                              wrap=_wrap_stream_helper))
    return sites


def _client_resources(client: Any) -> list[Any]:
    return [client.messages, client.beta.messages]


_PATCHES = SdkPatches(_sites, _client_resources)


def instrument_anthropic(monitor: BaseMonitor, client: Any = None) -> None:
    """Report Anthropic calls to ``monitor``: of every client, or only of ``client``. Idempotent."""
    _PATCHES.instrument(monitor, client)


def uninstrument_anthropic(client: Any = None) -> None:
    """Undo ``instrument_anthropic``: the class patches (``client`` None) or that client's patches."""
    _PATCHES.uninstrument(client)
