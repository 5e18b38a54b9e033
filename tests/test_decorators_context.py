"""Context: generator bodies run under their span in the consumer's context (more in
test_decorators_generators.py), threads and pools carry the caller's, metrics recorded off the
calling thread still add up, also across fork()."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader

from agents_hub_monitoring import propagate_context
from agents_hub_monitoring.instrument import instrument_threads, threads_instrumented, uninstrument_threads
from agents_hub_monitoring.telemetry.deferred import DeferredInstruments
from agents_hub_monitoring.testing import capture


@pytest.fixture
def detach_errors(caplog):
    caplog.set_level(logging.ERROR, logger="opentelemetry.context")
    yield lambda: [r for r in caplog.records if "detach" in r.getMessage().lower()]


# --- generators ------------------------------------------------------------------------------------------

def test_generator_body_runs_under_our_span_which_the_consumer_never_sees(monitor, telemetry, detach_errors):
    mark = monitor.observe(name="mark")(lambda: None)

    @monitor.tool
    def pages() -> Any:
        mark()
        yield 1
        mark()  # after a yield, still under our span
        yield 2

    seen = []
    for _ in pages():
        seen.append(trace.get_current_span())
        mark()  # the consumer's own span: a root, not a child of the generator
    assert seen == [trace.INVALID_SPAN] * 2
    assert sorted(telemetry.tree()) == sorted([(0, "execute_tool pages"), (1, "mark"), (1, "mark"), (0, "mark"),
                                               (0, "mark")])
    assert detach_errors() == []


def test_generator_closed_by_the_garbage_collector(monitor, telemetry, detach_errors):
    @monitor.tool
    def pages() -> Any:
        with monitor.span("inner"):
            yield from range(10)

    generator = pages()
    next(generator)
    del generator
    gc.collect()
    assert sorted(telemetry.span_names()) == ["execute_tool pages", "inner"]
    assert telemetry.span("execute_tool pages")["attributes"]["agents_hub.outcome"] == "closed"
    assert detach_errors() == []  # the body's tokens were reset in its own context


async def test_async_generator_dropped_mid_iteration_is_closed_by_the_loop(monitor, telemetry):
    @monitor.tool
    async def feed() -> Any:
        for index in range(10):
            await asyncio.sleep(0)
            yield index

    async for _ in feed():
        break  # the generator is dropped; asyncio's asyncgen hooks schedule its aclose()
    for _ in range(5):
        await asyncio.sleep(0)
    gc.collect()
    for _ in range(5):
        await asyncio.sleep(0)
    span = telemetry.span("execute_tool feed")
    assert span["attributes"]["agents_hub.outcome"] == "closed" and span["status"] == "UNSET"


def test_stream_proxy_keeps_the_sdk_object_api(monitor, telemetry):
    class Stream:
        response = "http-response"

        def __init__(self) -> None:
            self.items, self.exited = iter(["a", "b"]), False

        def __iter__(self) -> Stream:
            return self

        def __next__(self) -> str:
            return next(self.items)

        def __enter__(self) -> Stream:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.exited = True

    @monitor.llm(model="m", stream=True)
    def call() -> Stream:
        return Stream()

    with call() as stream:
        assert stream.response == "http-response" and list(stream) == ["a", "b"]
    assert stream.exited
    dropped = call()
    next(dropped)
    del dropped
    gc.collect()
    outcomes = [s["attributes"].get("agents_hub.outcome") for s in telemetry.spans()]
    assert outcomes == [None, "closed"]  # exhausted (llm spans carry no outcome) / collected early


def test_plain_results_and_stream_false_end_the_span_at_return(monitor, telemetry):
    @monitor.tool
    def ids() -> Any:
        return iter([1, 2, 3])

    @monitor.tool(stream=False)
    def lazy() -> Any:
        return (n for n in range(3))

    iterator, generator = ids(), lazy()
    assert len(telemetry.spans()) == 2 and list(iterator) == [1, 2, 3] and list(generator) == [0, 1, 2]


async def test_sync_function_returning_a_future_keeps_it(monitor, telemetry):
    loop = asyncio.get_running_loop()

    @monitor.tool
    def offload(pool: ThreadPoolExecutor) -> Any:
        return loop.run_in_executor(pool, sum, [1, 2, 3])

    with ThreadPoolExecutor(1) as pool:
        future = offload(pool)
        assert isinstance(future, asyncio.Future) and await future == 6
    await asyncio.sleep(0)
    assert telemetry.span("execute_tool offload")["attributes"]["gen_ai.tool.call.result"] == "6"


# --- threads -----------------------------------------------------------------------------------------------

def test_threads_and_thread_subclasses_join_the_trace_when_instrumented(monitor, telemetry):
    work = monitor.tool(name="work")(lambda: None)

    class Worker(threading.Thread):
        def run(self) -> None:
            work()

    @monitor.agent(name="parent")
    def parent() -> None:
        for thread in (threading.Thread(target=work), Worker()):
            thread.start()
            thread.join()
        with ThreadPoolExecutor(1) as pool:
            pool.submit(work).result()

    parent()  # not instrumented: three new traces
    assert [depth for depth, _ in telemetry.tree()] == [0, 0, 0, 0]
    telemetry.clear()
    original_start = threading.Thread.start
    instrument_threads()
    instrument_threads()  # idempotent
    try:
        assert threads_instrumented()
        parent()
        assert telemetry.tree() == [(0, "invoke_agent parent"), *[(1, "execute_tool work")] * 3]
        telemetry.clear()
        with ThreadPoolExecutor(1) as pool:  # a worker thread started under a span keeps no context
            with monitor.span("first"):
                pool.submit(work).result()
            pool.submit(work).result()
        assert [depth for depth, _ in telemetry.tree()] == [0, 1, 0]
    finally:
        uninstrument_threads()
        uninstrument_threads()
    assert threading.Thread.start is original_start and not threads_instrumented()


def test_propagate_context_without_patching(monitor, telemetry):
    work = monitor.tool(name="work")(lambda: None)
    with monitor.conversation("c-1"), monitor.span("parent"), ThreadPoolExecutor(1) as pool:
        pool.submit(propagate_context(work)).result()
    assert telemetry.tree() == [(0, "parent"), (1, "execute_tool work")]
    assert telemetry.span("execute_tool work")["attributes"]["gen_ai.conversation.id"] == "c-1"


# --- metrics off the calling thread -------------------------------------------------------------------------

def test_many_calls_are_all_counted(monitor, telemetry):
    @monitor.tool
    def ping() -> None:
        return None

    monitor._instruments._batch_size = 64  # several batches for the replay thread, the rest at collection
    for _ in range(1500):
        ping()
    assert monitor._instruments._thread is not None and monitor._instruments._thread.is_alive()
    (calls,) = telemetry.metric_points("agents_hub.tool.calls")
    (durations,) = telemetry.metric_points("gen_ai.execute_tool.duration")
    assert calls["value"] == 1500 and durations["count"] == 1500
    assert monitor._instruments.pending == 0


class _Collecting(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        for resource in metrics_data.resource_metrics:
            for scope in resource.scope_metrics:
                self.names.update(metric.name for metric in scope.metrics)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def test_flush_exports_queued_metrics_to_periodic_readers():
    exporter = _Collecting()
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    with capture(metric_readers=[reader]) as (monitor, _):
        monitor.agent(name="a")(lambda: None)()
        assert monitor._instruments.pending == 1
        monitor.flush()
        assert {"gen_ai.invoke_agent.duration", "agents_hub.agent.runs"} <= exporter.names
        assert "agents_hub.monitor.metrics.replay" not in exporter.names  # the hook reports nothing


def test_backpressure_replays_on_the_calling_thread_when_the_queue_is_full(monitor):
    recorded = []

    class Inner:
        def record_event(self, name: str) -> None:
            recorded.append(name)

    deferred = DeferredInstruments(Inner(), monitor._pipeline.meter, batch_size=2, max_pending=4)
    deferred._ensure_thread = lambda: None  # a replay thread that never runs
    for index in range(10):
        deferred.record_event(str(index))
        assert deferred.pending < 4
    deferred.replay()
    assert recorded == [str(index) for index in range(10)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
def test_fork_while_a_replay_holds_the_lock(monitor, telemetry):
    """The child can record and collect: no lock inherited from a thread mid-replay, and the
    counter sums that thread had gathered are the parent's, not counted again in the child."""
    @monitor.tool
    def ping() -> None:
        return None

    deferred = monitor._instruments
    for _ in range(3):
        ping()
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:  # queued after the three tool calls: the replay sums them, then waits here
        entered.set()
        release.wait()

    deferred._targets.append(hold)  # queued entries name their recorder by index
    deferred._pending.append((len(deferred._targets) - 1, (), {}))
    replaying = threading.Thread(target=deferred.replay)
    replaying.start()
    assert entered.wait(60)  # the replay holds _replay_lock, with three increments summed, not added
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
        pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        try:
            signal.alarm(30)  # a deadlock ends the child (and fails the test) instead of hanging it
            ping()
            ping()
            (calls,) = telemetry.metric_points("agents_hub.tool.calls")
            os.write(write, json.dumps([calls["value"], deferred.pending]).encode())
        finally:
            os._exit(0)
    os.close(write)
    release.set()
    replaying.join()
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    os.waitpid(pid, 0)
    assert reported and json.loads(reported) == [2, 0]  # two calls in the child, none of the parent's
    (calls,) = telemetry.metric_points("agents_hub.tool.calls")
    assert calls["value"] == 3  # the parent's, counted once
