"""The context manager behind every span API: sync and async, never raising on its own account."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, SpanKind

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.monitors.current_llm import open_llm
from agents_hub_monitoring.monitors.handles import SpanHandle, current_agent_name
from agents_hub_monitoring.monitors.operations import LLMCallHandle
from agents_hub_monitoring.telemetry.context import ConversationContext, _current

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["OperationSpec", "SpanScope", "Tracked"]

H = TypeVar("H", bound=SpanHandle)


class OperationSpec(Generic[H]):
    """What to start: span name, kind, attributes, and how to wrap the span in a handle."""

    __slots__ = ("agent_name", "attributes", "conversation", "factory", "kind", "name")

    def __init__(self, name: str, kind: SpanKind, attributes: Mapping[str, Any],
                 factory: Callable[[trace.Span], H], *, conversation: ConversationContext | None = None,
                 agent_name: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.attributes = attributes
        self.factory = factory
        self.conversation = conversation
        self.agent_name = agent_name


class SpanScope(Generic[H]):
    """``with``/``async with`` around an operation; yields its handle.

    The user's exception is recorded on the span and re-raised unchanged (same object, same
    traceback: ``__exit__`` returns False). Our own failures are reported and swallowed: the
    block then runs with a non-recording handle.
    """

    __slots__ = ("_agent_token", "_context_token", "_conversation_token", "_monitor", "_spec", "handle")

    def __init__(self, monitor: BaseMonitor, spec: OperationSpec[H]) -> None:
        self._monitor = monitor
        self._spec = spec
        self._context_token: object | None = None
        self._conversation_token: object | None = None
        self._agent_token: object | None = None
        self.handle: H | SpanHandle | None = None

    def __enter__(self) -> H:
        spec = self._spec
        if self._monitor._closed:  # after shutdown: the block runs, nothing is recorded
            self.handle = self._non_recording_handle()
            return self.handle  # type: ignore[return-value]
        try:
            if spec.conversation is not None and not spec.conversation.is_empty():
                merged = _current.get().merged_with(spec.conversation)
                self._conversation_token = _current.set(merged)
            if spec.agent_name is not None:
                self._agent_token = current_agent_name.set(spec.agent_name)
            span = self._monitor._tracer.start_span(spec.name, kind=spec.kind, attributes=spec.attributes)
            self._context_token = otel_context.attach(trace.set_span_in_context(span))
            self.handle = spec.factory(span)
            # SDK calls inside fill in what their response tells. type(), not isinstance(): no call for
            # the scopes of every other kind.
            if type(self.handle) is LLMCallHandle:
                open_llm(self.handle)
        except Exception as error:
            report_internal_failure("span start", error)
            self.handle = self._non_recording_handle()
        return self.handle  # type: ignore[return-value]

    def _non_recording_handle(self) -> H | SpanHandle:
        # Same handle type as usual, so the user's calls on it keep working (and do nothing).
        try:
            return self._spec.factory(INVALID_SPAN)
        except Exception:
            return SpanHandle(INVALID_SPAN, self._monitor)

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        handle = self.handle
        try:
            if handle is not None:
                # GeneratorExit means a generator was closed early by its consumer: not a failure.
                if exc is not None and not isinstance(exc, GeneratorExit):
                    handle.record_error(exc, error_type=_exit_error_type(exc))
                handle.end()
        except Exception as error:
            report_internal_failure("span end", error)
        finally:
            self._restore()
        return False

    def _restore(self) -> None:
        # Reset in reverse order of setting; a token from another context (a generator resumed
        # elsewhere) raises ValueError, which must not reach the user.
        for token, reset in ((self._context_token, otel_context.detach),
                             (self._agent_token, current_agent_name.reset),
                             (self._conversation_token, _current.reset)):
            if token is not None:
                try:
                    reset(token)  # type: ignore[arg-type]
                except Exception as error:
                    report_internal_failure("context restore", error)
        self._context_token = self._agent_token = self._conversation_token = None

    async def __aenter__(self) -> H:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        return self.__exit__(exc_type, exc, traceback)


def _exit_error_type(exc: BaseException) -> str | None:
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return None


class Tracked:
    """The result of a ``track_*`` call: usable directly, or awaited as the original API was.

    The work is already done when the call returns; awaiting just hands back the id, so both
    ``monitor.track_event(...)`` and ``await monitor.track_event(...)`` work. A combined monitor
    whose members have async hooks of their own hands those back in ``pending``: awaiting the
    result runs them; a result that is never awaited closes them quietly.
    """

    __slots__ = ("id", "pending")

    def __init__(self, id: str | None, pending: list[Any] | None = None) -> None:
        self.id = id
        self.pending = pending

    def __await__(self) -> Any:
        pending, self.pending = self.pending, None
        for awaitable in pending or ():
            yield from awaitable.__await__()
        return self.id

    def __del__(self) -> None:
        for awaitable in self.pending or ():
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()  # never awaited: no "coroutine was never awaited" warning at exit

    def __repr__(self) -> str:
        return f"Tracked(id={self.id!r})"
