"""What the OpenAI and Anthropic integrations share: one LLM span per SDK call, streams, patching.

A patched method opens a ``chat {model}`` span (through the monitor's ``_llm_spec``), makes it
current while the SDK sends the request (so HTTP-level spans nest under it), and ends it when the
call returns, or, for a stream, when the stream is exhausted, fails, is closed or is garbage
collected. Inside an LLM span of the same monitor (``@monitor.llm``) no span is opened: that span
is the call, and the response (a stream's chunks, at its end) fills in its handle, which its owner
ends (see ``monitors/current_llm``). Our code never breaks the call: if it fails,
the original still runs and returns its normal result, and the SDK's own exceptions pass through
unchanged (recorded with ``error.type``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.capture import write_llm_metadata
from agents_hub_monitoring.instrument.sdk_request import (
    LLMRequest,
    capturable,
    enclosing_llm_span,
    given,
    model_name,
    request_parameters,
    require_sdk,
)
from agents_hub_monitoring.instrument.sdk_streams import AsyncStreamProxy, StreamProxy
from agents_hub_monitoring.instrument.spans import end_closed
from agents_hub_monitoring.monitors.current_llm import current_llm
from agents_hub_monitoring.monitors.emit import open_handle
from agents_hub_monitoring.telemetry.usage import read_llm_result

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor
    from agents_hub_monitoring.monitors.operations import LLMCallHandle

__all__ = ["Accumulator", "CallSite", "LLMCall", "LLMRequest", "PatchState", "capturable", "given", "model_name",
           "request_parameters", "require_sdk"]


class Accumulator(Protocol):
    def add(self, item: Any) -> None: ...

    def result(self) -> Any: ...


@dataclass(frozen=True)
class CallSite:
    """One SDK method we patch and how to read its calls."""

    owner: type
    name: str
    describe: Callable[[Any, Mapping[str, Any]], LLMRequest]
    accumulator: Callable[[bool], Accumulator] | None = None  # for streams; gets "capture content?"
    stream_types: tuple[type, ...] = ()  # what a streaming call returns (sync and async)
    result_types: tuple[type, ...] = ()  # what a non-streaming call returns
    wrap: Callable[[CallSite, Callable[..., Any], PatchState], Callable[..., Any]] | None = None


class PatchState:
    """The monitor one set of patches reports to; ``active`` False turns the wrappers into no-ops.

    The reference is strong on purpose: ``OTLPMonitor(...).instrument_openai()`` must keep
    reporting. A monitor that was shut down is skipped (calls pass straight through).
    """

    def __init__(self, monitor: BaseMonitor) -> None:
        self._monitor: BaseMonitor | None = monitor
        self.active = True

    def retarget(self, monitor: BaseMonitor) -> None:
        self._monitor = monitor

    def deactivate(self) -> None:
        self.active = False
        self._monitor = None  # let the monitor go once nothing reports to it

    def monitor(self) -> BaseMonitor | None:
        monitor = self._monitor if self.active else None
        return None if monitor is None or getattr(monitor, "_closed", False) else monitor


class LLMCall:
    """The span of one SDK call, from the request to the end of its response (or stream).

    ``borrowed``: the handle is the enclosing LLM span's; the call fills it in and leaves the rest
    (the span's context, errors, its end) to that span's owner. ``output`` False: no completion.
    """

    __slots__ = ("_accumulator", "_borrowed", "_ended", "_first", "_output", "handle", "site")

    def __init__(self, handle: LLMCallHandle, site: CallSite, accumulator: Accumulator | None, *,
                 borrowed: bool = False, output: bool = True) -> None:
        self.handle = handle
        self.site = site
        self._accumulator = accumulator
        self._borrowed = borrowed
        self._output = output
        self._first = True
        self._ended = False

    @classmethod
    def begin(cls, state: PatchState, site: CallSite, resource: Any, kwargs: Mapping[str, Any]) -> LLMCall | None:
        monitor = state.monitor()
        if monitor is None:
            return None
        try:
            request = site.describe(resource, kwargs)
            streams = request.stream and site.accumulator is not None
            current = current_llm(monitor)
            if current is not None:  # that span is this call: no second span, no second count
                handle, output = current
                request.adopt(handle, monitor)
                accumulator = site.accumulator(monitor.capture_content and output) if streams else None
                return cls(handle, site, accumulator, borrowed=True, output=output)
            enclosing = enclosing_llm_span(monitor)
            if enclosing is not None:  # an LLM span whose handle is out of reach: only the request
                request.enrich(enclosing, monitor)
                return None
            handle = open_handle(monitor, request.spec(monitor))
            accumulator = site.accumulator(monitor.capture_content) if streams else None
            return cls(handle, site, accumulator)
        except Exception as error:
            report_internal_failure("llm sdk call start", error)
            return None

    def attach(self) -> object | None:
        if self._borrowed:  # the enclosing span is current already
            return None
        try:
            return otel_context.attach(trace.set_span_in_context(self.handle.span))
        except Exception as error:
            report_internal_failure("llm sdk context attach", error)
            return None

    @staticmethod
    def detach(token: object | None) -> None:
        if token is not None:
            try:
                otel_context.detach(token)  # type: ignore[arg-type]
            except Exception as error:
                report_internal_failure("llm sdk context detach", error)

    def succeed(self, result: Any) -> Any:
        """The SDK returned: finish the span, or hand back the stream wrapped so it ends the span later."""
        try:
            if self._accumulator is not None and isinstance(result, self.site.stream_types):
                if hasattr(type(result), "__anext__"):
                    return AsyncStreamProxy(result, self)
                return StreamProxy(result, self)
            self._ended = True
            if isinstance(result, self.site.result_types):  # raw-response wrappers are not read
                _fill(self.handle, result, self._output, borrowed=self._borrowed)
            if not self._borrowed:
                self.handle.end()
        except Exception as error:
            report_internal_failure("llm sdk call end", error)
            self._end_quietly()
        return result

    def fail(self, error: BaseException) -> None:
        self._ended = True
        self._fill_accumulated("llm sdk partial result")
        if not self._borrowed:  # a borrowed span fails if the error leaves its owner's code, not here
            self._record_error(error)

    def observe(self, item: Any) -> None:
        """One streamed chunk (never raises)."""
        if self.handle._ended:  # a borrowed span that ended first: what arrives now is not its
            return
        try:
            if self._first:
                self._first = False
                self.handle.mark_first_chunk()
            if self._accumulator is not None:
                self._accumulator.add(item)
        except Exception as error:
            report_internal_failure("llm sdk stream chunk", error)

    def end_stream(self, error: BaseException | None = None, *, closed: bool = False) -> None:
        """The stream ended: exhausted, ``closed`` (or dropped) before its end, or failed (never raises).

        A stream left early is not a failure: outcome ``closed``, as for decorated generators.
        """
        if self._ended:
            return
        if error is not None:
            self.fail(error)
            return
        self._ended = True
        self._fill_accumulated("llm sdk stream end")
        if self._borrowed:
            return
        if not closed:
            self._end_quietly()
            return
        try:
            end_closed(self.handle)
        except Exception as internal:
            report_internal_failure("llm sdk stream close", internal)

    def _fill_accumulated(self, where: str) -> None:
        # What the stream delivered so far; failing to read it must not keep the span from ending.
        try:
            if self._accumulator is not None:
                _fill(self.handle, self._accumulator.result(), self._output, borrowed=self._borrowed)
        except Exception as internal:
            report_internal_failure(where, internal)

    def _record_error(self, error: BaseException) -> None:
        try:
            cancelled = isinstance(error, asyncio.CancelledError)
            self.handle.record_error(error, error_type="cancelled" if cancelled else None)
        except Exception as internal:
            report_internal_failure("llm sdk record error", internal)
        self._end_quietly()

    def _end_quietly(self) -> None:
        if self._borrowed:
            return
        try:
            self.handle.end()
        except Exception as error:
            report_internal_failure("llm sdk span end", error)


def _fill(handle: LLMCallHandle, result: Any, output: bool, *, borrowed: bool) -> None:
    if handle._ended:  # a borrowed span that ended before this call did
        return
    if not borrowed:  # our own span: the response is read after the call, off the calling thread
        handle.set_result(result, capture_output=output)
        return
    # An enclosing span's handle is filled now: what its own function returns may still add to it.
    parsed = read_llm_result(result)
    write_llm_metadata(handle, parsed)
    if output and parsed.output is not None:
        handle.set_output(parsed.output)
