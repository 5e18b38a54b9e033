"""The call-shape matrix: every decorated call shape x every way a call can go.

Shapes: sync, async, generator, async generator, a sync function returning an awaitable,
streams (an ``llm`` function returning an iterator / async iterator of chunks), and
``@contextmanager`` / ``@asynccontextmanager`` over a decorated generator. Scenarios: success,
exception, early close, cancellation (KeyboardInterrupt for sync shapes), thread pool,
``asyncio.gather``, nesting, and context (the body's ContextVar changes reach the consumer exactly
as without the decorator). Each cell asserts the span count, parentage, a duration covering the
measured work, the status, and that no span stays open and no context leaks afterwards. The
README's matrix table names these test ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor

from agents_hub_monitoring.instrument import instrument_threads, uninstrument_threads
from agents_hub_monitoring.testing import capture

STEPS = 3
WORK_S = 0.003
SLACK_S = 50e-6  # span times use the wall clock, the probe the monotonic one
# Set by every step of work, never reset: how far the body got, as its consumer sees it.
BODY_STEPS: contextvars.ContextVar[int | None] = contextvars.ContextVar("body_steps", default=None)


class Boom(Exception):
    pass


class OpenSpans(SpanProcessor):
    """Spans started and not ended yet."""

    def __init__(self) -> None:
        self.open: dict[int, str] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.open[span.context.span_id] = span.name

    def on_end(self, span: Any) -> None:
        self.open.pop(span.context.span_id, None)


class Probe:
    """One step of work: a sleep (and, nested, a decorated child call); keeps each step's duration."""

    def __init__(self, monitor: Any, nested: bool) -> None:
        self.steps: list[float] = []
        self.child = monitor.tool(name="child")(lambda: None) if nested else None

    def step(self) -> None:
        started = time.perf_counter()
        time.sleep(WORK_S)
        if self.child:
            self.child()
        self.steps.append(time.perf_counter() - started)
        BODY_STEPS.set(len(self.steps))

    async def astep(self) -> None:
        started = time.perf_counter()
        await asyncio.sleep(0)  # a suspension point that needs no event loop (early-close cells)
        await asyncio.sleep(WORK_S)
        if self.child:
            self.child()
        self.steps.append(time.perf_counter() - started)
        BODY_STEPS.set(len(self.steps))


class Chunks:
    """A hand-written iterator of LLM chunks (not a generator), like an SDK stream object."""

    def __init__(self, probe: Probe, error: BaseException | None) -> None:
        self.probe, self.error, self.sent, self.closed = probe, error, 0, False

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> dict[str, Any]:
        if self.sent == STEPS:
            if self.error is not None:
                raise self.error
            raise StopIteration
        self.probe.step()
        return self._chunk()

    def _chunk(self) -> dict[str, Any]:
        self.sent += 1
        last = self.sent == STEPS
        return {"model": "m-1", "choices": [{"delta": {"content": "x"}, "finish_reason": "stop" if last else None}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3} if last else None}

    def close(self) -> None:
        self.closed = True


class AsyncChunks(Chunks):
    def __aiter__(self) -> AsyncChunks:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self.sent == STEPS:
            if self.error is not None:
                raise self.error
            raise StopAsyncIteration
        await self.probe.astep()
        return self._chunk()

    async def aclose(self) -> None:
        self.closed = True


# --- shapes -------------------------------------------------------------------------------------------
# build(monitor, probe, error) -> the decorated function; run(f) consumes it fully (sync shapes) and
# arun(f) from inside an event loop; close_early(f) starts it and stops it before the end.

class Shape:
    name = ""
    is_async = False
    kind = "tool"
    between_calls = 0  # how often run(function, between) calls between() while the shape is running

    @property
    def span_name(self) -> str:
        return "execute_tool shape" if self.kind == "tool" else "shape"

    def run_blocking(self, function: Any) -> Any:
        """Full consumption from a plain thread (async shapes get their own event loop)."""
        return asyncio.run(self.arun(function)) if self.is_async else self.run(function)

    async def arun_concurrently(self, function: Any) -> Any:
        """Full consumption as one of several concurrent tasks (sync shapes in a worker thread)."""
        return await (self.arun(function) if self.is_async else asyncio.to_thread(self.run, function))


class SyncShape(Shape):
    name = "sync"

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @monitor.tool(name="shape")
        def shape() -> str:
            for _ in range(STEPS):
                probe.step()
            if error is not None:
                raise error
            return "done"
        return shape

    def run(self, function: Any, between: Any = None) -> Any:
        return function()


class AsyncShape(Shape):
    name = "async"
    is_async = True

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @monitor.tool(name="shape")
        async def shape() -> str:
            for _ in range(STEPS):
                await probe.astep()
            if error is not None:
                raise error
            return "done"
        return shape

    async def arun(self, function: Any, between: Any = None) -> Any:
        return await function()

    def close_early(self, function: Any) -> None:
        coroutine = function()
        coroutine.send(None)  # runs to the first suspension (asyncio.sleep(0) needs no loop)
        coroutine.close()  # GeneratorExit at that await


class GeneratorShape(Shape):
    name = "generator"
    between_calls = STEPS

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @monitor.tool(name="shape")
        def shape() -> Any:
            for index in range(STEPS):
                probe.step()
                yield index
            if error is not None:
                raise error
        return shape

    def run(self, function: Any, between: Any = None) -> list[Any]:
        items = []
        for item in function():
            items.append(item)
            if between:
                between()
        return items

    def close_early(self, function: Any) -> None:
        generator = function()
        next(generator)
        generator.close()


class AsyncGeneratorShape(Shape):
    name = "async_generator"
    is_async = True
    between_calls = STEPS

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @monitor.tool(name="shape")
        async def shape() -> Any:
            for index in range(STEPS):
                await probe.astep()
                yield index
            if error is not None:
                raise error
        return shape

    async def arun(self, function: Any, between: Any = None) -> list[Any]:
        items = []
        async for item in function():
            items.append(item)
            if between:
                between()
        return items

    async def aclose_early(self, function: Any) -> None:
        generator = function()
        await generator.__anext__()
        await generator.aclose()


class AwaitableShape(Shape):
    """A sync function that does some work and returns a coroutine doing the rest."""

    name = "sync_returning_awaitable"
    is_async = True

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        async def rest() -> str:
            for _ in range(STEPS - 1):
                await probe.astep()
            if error is not None:
                raise error
            return "done"

        @monitor.tool(name="shape")
        def shape() -> Any:
            probe.step()
            return rest()
        return shape

    async def arun(self, function: Any, between: Any = None) -> Any:
        return await function()

    def close_early(self, function: Any) -> None:
        with warnings.catch_warnings():  # Python warns that the inner coroutine was never awaited
            warnings.simplefilter("ignore", RuntimeWarning)
            coroutine = function()  # never awaited: the span ends when the coroutine is collected
            coroutine.close()
            del coroutine
            gc.collect()


class StreamShape(Shape):
    """``@monitor.llm(stream=True)`` on a function returning an SDK-style chunk iterator."""

    name = "stream"
    kind = "llm"
    between_calls = STEPS

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @monitor.llm(name="shape", model="m-1", stream=True)
        def shape() -> Chunks:
            return Chunks(probe, error)
        return shape

    run = GeneratorShape.run

    def close_early(self, function: Any) -> None:
        stream = function()
        next(stream)
        stream.close()
        assert stream.closed  # close() reached the SDK object


class AsyncStreamShape(Shape):
    """``@monitor.llm`` on an async function returning an async chunk iterator (SDK AsyncStream)."""

    name = "async_stream"
    kind = "llm"
    is_async = True
    between_calls = STEPS

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @monitor.llm(name="shape", model="m-1")
        async def shape() -> AsyncChunks:
            return AsyncChunks(probe, error)
        return shape

    async def arun(self, function: Any, between: Any = None) -> list[Any]:
        items = []
        async for item in await function():
            items.append(item)
            if between:
                between()
        return items

    async def aclose_early(self, function: Any) -> None:
        stream = await function()
        await stream.__anext__()
        await stream.aclose()
        assert stream.closed


class ContextManagerShape(Shape):
    """``@contextmanager`` over a decorated generator: work before the ``yield`` and after it."""

    name = "contextmanager"
    between_calls = 1

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @contextlib.contextmanager
        @monitor.tool(name="shape")
        def shape() -> Any:
            for _ in range(STEPS - 1):
                probe.step()
            yield "entered"
            probe.step()
            if error is not None:
                raise error
        return shape

    def run(self, function: Any, between: Any = None) -> Any:
        with function() as value:
            if between:
                between()
        return value

    def close_early(self, function: Any) -> None:
        manager = function()
        manager.__enter__()
        manager.gen.close()  # entered, never exited


class AsyncContextManagerShape(Shape):
    """``@asynccontextmanager`` over a decorated async generator (FastAPI dependencies, fixtures)."""

    name = "asynccontextmanager"
    is_async = True
    between_calls = 1

    def build(self, monitor: Any, probe: Probe, error: BaseException | None) -> Any:
        @contextlib.asynccontextmanager
        @monitor.tool(name="shape")
        async def shape() -> Any:
            for _ in range(STEPS - 1):
                await probe.astep()
            yield "entered"
            await probe.astep()
            if error is not None:
                raise error
        return shape

    async def arun(self, function: Any, between: Any = None) -> Any:
        async with function() as value:
            if between:
                between()
        return value

    async def aclose_early(self, function: Any) -> None:
        manager = function()
        await manager.__aenter__()
        await manager.gen.aclose()


SHAPES = [SyncShape(), AsyncShape(), GeneratorShape(), AsyncGeneratorShape(), AwaitableShape(), StreamShape(),
          AsyncStreamShape(), ContextManagerShape(), AsyncContextManagerShape()]
SCENARIOS = ["success", "exception", "early_close", "cancellation", "thread_pool", "gather", "nested", "context"]


# --- the matrix ---------------------------------------------------------------------------------------

@pytest.fixture
def traced():
    tracker = OpenSpans()
    with capture(span_processors=[tracker]) as (monitor, telemetry):
        yield monitor, telemetry, tracker
        gc.collect()
        assert tracker.open == {}, f"spans left open: {tracker.open}"
        assert trace.get_current_span() is trace.INVALID_SPAN


def _only(telemetry: Any, shape: Shape) -> dict[str, Any]:
    return telemetry.span(shape.span_name)


def _covers(span: dict[str, Any], probe: Probe, steps: int = STEPS) -> None:
    assert span["duration_s"] >= sum(probe.steps[:steps]) - SLACK_S, (span["duration_s"], probe.steps)


def _lower_bound(probe: Probe) -> float:
    return STEPS * min(probe.steps) - SLACK_S


def _check_ok(shape: Shape, span: dict[str, Any]) -> None:
    assert span["status"] == "UNSET" and "error.type" not in span["attributes"]
    if shape.kind == "tool":
        assert span["attributes"]["agents_hub.outcome"] == "success"
    else:
        assert span["attributes"]["gen_ai.usage.input_tokens"] == 7
        assert span["attributes"]["gen_ai.response.finish_reasons"] == ("stop",)


def _run(shape: Shape, function: Any) -> Any:
    return shape.run_blocking(function)


CELLS = [pytest.param(shape, scenario, id=f"{shape.name}-{scenario}") for shape in SHAPES for scenario in SCENARIOS
         if not (shape.name == "sync" and scenario == "early_close")]  # a plain call cannot be closed early


@pytest.mark.parametrize(("shape", "scenario"), CELLS)
def test_call_shape(shape: Shape, scenario: str, traced: Any) -> None:
    monitor, telemetry, _ = traced
    globals()[f"_scenario_{scenario}"](shape, monitor, telemetry)


def _scenario_success(shape: Shape, monitor: Any, telemetry: Any) -> None:
    probe = Probe(monitor, nested=False)
    result = _run(shape, shape.build(monitor, probe, None))
    assert result in ("done", [0, 1, 2], "entered") or len(result) == STEPS
    span = _only(telemetry, shape)
    assert telemetry.span_names() == [shape.span_name] and span["parent_span_id"] is None
    _check_ok(shape, span)
    _covers(span, probe)


def _scenario_exception(shape: Shape, monitor: Any, telemetry: Any) -> None:
    probe = Probe(monitor, nested=False)
    error = Boom("bad")
    with pytest.raises(Boom) as raised:
        _run(shape, shape.build(monitor, probe, error))
    assert raised.value is error  # the same object, re-raised
    span = _only(telemetry, shape)
    assert span["status"] == "ERROR" and span["attributes"]["error.type"] == "Boom"
    assert span["events"][0]["name"] == "exception"
    _covers(span, probe)


def _scenario_early_close(shape: Shape, monitor: Any, telemetry: Any) -> None:
    probe = Probe(monitor, nested=False)
    function = shape.build(monitor, probe, None)
    if hasattr(shape, "aclose_early"):
        asyncio.run(shape.aclose_early(function))
    else:
        shape.close_early(function)
    span = _only(telemetry, shape)
    assert span["status"] == "UNSET" and "error.type" not in span["attributes"]
    assert span["attributes"]["agents_hub.outcome"] == "closed"
    _covers(span, probe, steps=len(probe.steps))


def _scenario_cancellation(shape: Shape, monitor: Any, telemetry: Any) -> None:
    probe = Probe(monitor, nested=False)
    if not shape.is_async:  # sync code is interrupted, not cancelled
        interrupt = KeyboardInterrupt()
        with pytest.raises(KeyboardInterrupt) as raised:
            _run(shape, shape.build(monitor, probe, interrupt))
        assert raised.value is interrupt
        assert _only(telemetry, shape)["attributes"]["error.type"] == "KeyboardInterrupt"
        return

    async def main() -> None:
        task = asyncio.create_task(shape.arun(shape.build(monitor, probe, None)))
        while len(probe.steps) < 1:
            await asyncio.sleep(WORK_S / 3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    span = _only(telemetry, shape)
    assert span["status"] == "ERROR" and span["attributes"]["error.type"] == "cancelled"
    _covers(span, probe, steps=len(probe.steps))


def _scenario_thread_pool(shape: Shape, monitor: Any, telemetry: Any) -> None:
    probe = Probe(monitor, nested=True)
    function = shape.build(monitor, probe, None)

    @monitor.agent(name="parent")
    def parent() -> list[Any]:
        with ThreadPoolExecutor(2) as pool:
            return [future.result() for future in [pool.submit(shape.run_blocking, function) for _ in range(2)]]

    instrument_threads()
    try:
        with monitor.conversation("conv-pool", user_id="u1"):
            parent()
    finally:
        uninstrument_threads()
    root = telemetry.span("invoke_agent parent")
    shapes = [span for span in telemetry.spans() if span["name"] == shape.span_name]
    assert len(shapes) == 2 and {span["parent_span_id"] for span in shapes} == {root["span_id"]}
    children = [span for span in telemetry.spans() if span["name"] == "execute_tool child"]
    assert len(children) == 2 * STEPS
    assert {span["parent_span_id"] for span in children} == {span["span_id"] for span in shapes}
    for span in telemetry.spans():
        assert span["trace_id"] == root["trace_id"]
        assert span["attributes"]["gen_ai.conversation.id"] == "conv-pool"
    for span in shapes:
        assert span["duration_s"] >= _lower_bound(probe)
        _check_ok(shape, span)


def _scenario_gather(shape: Shape, monitor: Any, telemetry: Any) -> None:
    probe = Probe(monitor, nested=False)
    function = shape.build(monitor, probe, None)

    @monitor.agent(name="parent")
    async def parent() -> list[Any]:
        return await asyncio.gather(*(shape.arun_concurrently(function) for _ in range(3)))

    async def main() -> None:
        async with monitor.conversation("conv-gather"):
            await parent()

    asyncio.run(main())
    root = telemetry.span("invoke_agent parent")
    shapes = [span for span in telemetry.spans() if span["name"] == shape.span_name]
    assert len(shapes) == 3 and len({span["span_id"] for span in shapes}) == 3
    for span in shapes:
        assert span["parent_span_id"] == root["span_id"] and span["trace_id"] == root["trace_id"]
        assert span["attributes"]["gen_ai.conversation.id"] == "conv-gather"
        assert span["duration_s"] >= _lower_bound(probe)
        _check_ok(shape, span)
    assert root["duration_s"] >= max(span["duration_s"] for span in shapes) - SLACK_S


def _scenario_nested(shape: Shape, monitor: Any, telemetry: Any) -> None:
    """Spans made in the body parent to the shape's span; spans the consumer makes between items
    (or after the call) parent to the consumer's span: the shape's span never leaks."""
    probe = Probe(monitor, nested=True)
    function = shape.build(monitor, probe, None)
    sibling = monitor.observe(name="sibling")(lambda: trace.get_current_span().get_span_context().span_id)
    between = shape.between_calls  # siblings made while the shape runs (between items, in the with block)

    @monitor.agent(name="parent")
    async def parent() -> None:
        if between and shape.is_async:
            await shape.arun(function, between=sibling)
        elif between:
            shape.run(function, between=sibling)
        else:
            await (shape.arun(function) if shape.is_async else asyncio.to_thread(shape.run, function))
            sibling()

    asyncio.run(parent())
    siblings = between or 1
    expected = [(0, "invoke_agent parent"), (1, shape.span_name), *[(2, "execute_tool child")] * STEPS,
                *[(1, "sibling")] * siblings]
    assert sorted(telemetry.tree()) == sorted(expected)
    _covers(_only(telemetry, shape), probe)


class _Undecorated:
    """Stands in for the monitor in ``Shape.build``: the same code without our decorators."""

    def tool(self, **options: Any) -> Any:
        return lambda function: function

    llm = tool


def _scenario_context(shape: Shape, monitor: Any, telemetry: Any) -> None:
    """What the consumer sees of the body's ContextVar changes (while the shape runs, and after it)
    is exactly what it sees without the decorator; e.g. a value set in a context manager's body
    before its ``yield`` is visible in the ``with`` block."""
    def consume(decorating: Any) -> list[Any]:
        function = shape.build(decorating, Probe(monitor, nested=False), None)
        seen: list[Any] = []

        def between() -> None:
            seen.append(BODY_STEPS.get())

        async def main() -> list[Any]:  # asyncio.run: a fresh context for each run
            await shape.arun(function, between) if shape.is_async else shape.run(function, between)
            seen.append(BODY_STEPS.get())
            return seen

        return asyncio.run(main())

    plain = consume(_Undecorated())
    assert plain[-1] == STEPS and len(plain) == shape.between_calls + 1
    assert consume(monitor) == plain
    span = _only(telemetry, shape)
    assert telemetry.span_names() == [shape.span_name] and span["parent_span_id"] is None
    _check_ok(shape, span)
