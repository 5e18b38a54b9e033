"""Traced iteration of a decorated generator or async generator, and the state every traced iteration keeps.

The span covers the iteration: it starts at the first ``next()`` and ends when the iterator is
exhausted (success), raises (error, re-raised unchanged), is closed early or garbage-collected
(outcome ``closed``) or cancelled (``error.type`` ``cancelled``). Each step runs in the
consumer's context with our span laid on top for that step only (``context_run.Overlay``): the
body's own context changes reach the consumer as they would without the decorator, ours never.

The generator wrappers stay real generator functions (``@contextmanager``,
``@asynccontextmanager`` and yield-fixtures accept them); with no monitor, a shut-down one, or a
re-entrant class-method call, the body runs untraced.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.capture import content
from agents_hub_monitoring.instrument.context_run import Overlay
from agents_hub_monitoring.instrument.spans import DEFAULT, end_closed, fail, open_span, reentrant
from agents_hub_monitoring.instrument.streaming import StreamAccumulator
from agents_hub_monitoring.telemetry import semconv as sc

if TYPE_CHECKING:
    from agents_hub_monitoring.instrument.plan import Plan
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["StreamState", "async_generator_wrapper", "generator_wrapper", "open_state", "step"]

_KEPT_ITEMS = 100  # items kept for the recorded output (serialisation keeps no more anyway)
_OUTPUT_KEYS = {"tool": sc.GEN_AI_TOOL_CALL_RESULT, "retrieval": sc.GEN_AI_RETRIEVAL_DOCUMENTS}


class StreamState:
    """One traced iteration: its handle, its context overlay, and what it yielded."""

    __slots__ = ("accumulator", "capture", "count", "done", "handle", "items", "monitor", "overlay", "plan")

    def __init__(self, plan: Plan, monitor: BaseMonitor, handle: Any, owner: Any = None) -> None:
        self.plan, self.monitor, self.handle = plan, monitor, handle
        self.overlay = Overlay(handle.span, plan.agent_name, owner)
        self.count = 0
        self.done = False
        self.capture = plan.capture_output and monitor.capture_content
        self.accumulator = StreamAccumulator() if plan.kind == "llm" else None
        self.items: list[Any] | None = [] if self.capture and self.accumulator is None else None

    def on_item(self, item: Any) -> None:
        self.count += 1
        if self.accumulator is not None:
            self.accumulator.add(item, self.handle)
        elif self.items is not None and len(self.items) < _KEPT_ITEMS:
            self.items.append(item)

    def _record(self) -> None:
        try:
            span = self.handle.span
            span.set_attribute(sc.STREAM_ITEMS, self.count)
            if self.accumulator is not None:
                self.accumulator.apply(self.handle, self.capture)
                return
            if self.plan.kind == "retrieval":
                self.handle.documents = self.count
                span.set_attribute(sc.RESULT_COUNT, self.count)
            if self.items:
                output: Any = self.items
                if all(isinstance(item, str) for item in output):
                    output = "".join(output)
                elif self.count > len(output):
                    output = [*output, f"…[{self.count - len(output)} more items]"]
                text = content(self.monitor, output)
                if text is not None:
                    span.set_attribute(_OUTPUT_KEYS.get(self.plan.kind, sc.OUTPUT_VALUE), text)
        except Exception as error:
            report_internal_failure("stream output", error)

    def succeed(self) -> None:
        if not self.done:
            self.done = True
            self._record()
            self.handle.end()

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self.done = True
            self._record()  # what arrived before the failure (partial usage, chunk count)
            fail(self.handle, error)

    def close(self) -> None:
        if not self.done:
            self.done = True
            self._record()
            end_closed(self.handle)


def open_state(plan: Plan, monitor: BaseMonitor, args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> StreamState | None:
    """Start the span of a generator function's iteration, under the current span; None if that failed."""
    try:
        handle = open_span(plan, monitor, args, kwargs)
    except Exception as error:
        report_internal_failure("generator start", error)
        return None
    try:
        return StreamState(plan, monitor, handle, (args[0], handle.span, monitor) if plan.guarded else None)
    except Exception as error:
        report_internal_failure("generator start", error)
        handle.end()  # the generator runs untraced: no span left open
        return None


def drive(state: StreamState, inner: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """``yield from inner``, each step under our span; forwards ``send``/``throw``/``close``."""
    overlay = state.overlay
    value: Any = None
    error: BaseException | None = None
    while True:
        entered = overlay.enter()
        try:
            item = inner.send(value) if error is None else inner.throw(error)
        except StopIteration as stop:
            overlay.leave(entered)
            state.succeed()
            return stop.value
        except BaseException as failure:
            overlay.leave(entered)
            state.fail(failure)
            raise
        overlay.leave(entered)
        state.on_item(item)
        try:
            value, error = (yield item), None
        except GeneratorExit:  # close(), or the garbage collector: close the body under our span
            step(state, inner.close)
            state.close()
            raise
        except BaseException as thrown:
            value, error = None, thrown


def step(state: StreamState, method: Callable[..., Any], *args: Any) -> Any:
    """One synchronous step under our span; an exception ends the iteration (recorded, re-raised)."""
    overlay = state.overlay
    entered = overlay.enter()
    try:
        result = method(*args)
    except BaseException as error:
        overlay.leave(entered)
        state.fail(error)
        raise
    overlay.leave(entered)
    return result


async def _aclose(state: StreamState | _Untraced, inner: Any) -> None:
    overlay = state.overlay
    entered = overlay.enter()
    try:
        await inner.aclose()
    except BaseException as error:
        overlay.leave(entered)
        state.fail(error)
        raise
    overlay.leave(entered)
    state.close()


class _Untraced:
    """Stands in for ``StreamState`` (and its overlay) when nothing is traced: every hook does nothing."""

    __slots__ = ()

    def _nothing(self, *args: Any) -> None:
        return None

    enter = leave = on_item = succeed = fail = close = _nothing

    @property
    def overlay(self) -> _Untraced:
        return self


_UNTRACED = _Untraced()


def _skip(plan: Plan, monitor: BaseMonitor | None, args: tuple[Any, ...]) -> bool:
    return monitor is None or monitor._closed or (plan.guarded and reentrant(monitor, args))


def generator_wrapper(function: Callable[..., Any], plan: Plan, fixed: BaseMonitor | None) -> Callable[..., Any]:
    # A generator function itself, so inspect.isgeneratorfunction() still holds for the wrapper.
    # The span starts when iteration starts, under the span current at that moment.
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        state = None if _skip(plan, monitor, args) else open_state(plan, monitor, args, kwargs)  # type: ignore[arg-type]
        if state is None:
            return (yield from function(*args, **kwargs))
        try:
            inner = function(*args, **kwargs)
        except BaseException as error:
            state.fail(error)
            raise
        return (yield from drive(state, inner))

    return wrapper


def async_generator_wrapper(function: Callable[..., Any], plan: Plan, fixed: BaseMonitor | None
                            ) -> Callable[..., Any]:
    # The drive loop is inline (no second async generator in between), so the event loop's
    # asyncgen hooks see the wrapper and the body only, as without the decorator.
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        state = None if _skip(plan, monitor, args) else open_state(plan, monitor, args, kwargs)  # type: ignore[arg-type]
        traced: StreamState | _Untraced = _UNTRACED if state is None else state
        try:
            inner = function(*args, **kwargs)
        except BaseException as error:
            traced.fail(error)
            raise
        overlay = traced.overlay
        value: Any = None
        thrown: BaseException | None = None
        while True:  # ``yield from`` for async generators (PEP 525 semantics), each step under our span
            entered = overlay.enter()
            try:
                # A step lasts until its awaitable completes; between its suspensions the event loop
                # runs other tasks, each in its own context: our span is current in this task only.
                item = await (inner.asend(value) if thrown is None else inner.athrow(thrown))
            except StopAsyncIteration:
                overlay.leave(entered)
                traced.succeed()
                return
            except BaseException as failure:  # cancellation included: recorded as "cancelled"
                overlay.leave(entered)
                traced.fail(failure)
                raise
            overlay.leave(entered)
            traced.on_item(item)
            try:
                value, thrown = (yield item), None
            except GeneratorExit:  # aclose(), or the event loop finalising a dropped generator
                await _aclose(traced, inner)
                raise
            except BaseException as consumer_error:
                value, thrown = None, consumer_error

    return wrapper
