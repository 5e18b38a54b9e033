"""How one variant is measured, in its own process (see ``_workloads.py``).

Wall time per call on the calling thread for each repetition (``perf_counter_ns``); CPU per span
over all repetitions and their flushes (``process_time``: the export thread, the metric replay and
the encoder count); function calls per call (cProfile, deterministic: primitive calls / calls, and
those of Python functions only); spans sent; peak RSS (``getrusage``).

Two figures explain the wall time and carry no target: the calling thread's own CPU per call
(``thread_time``; wall minus this is mostly waiting for the GIL while the export thread works), and
the time spent in garbage collection, on any thread, per call.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import pstats
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Setup", "measure"]


@dataclass
class Setup:
    call: Callable[[int], Any]  # sync, or returns an awaitable when ``is_async``
    spans_per_call: int
    flush: Callable[[], Any] = lambda: None
    close: Callable[[], Any] = lambda: None
    is_async: bool = False
    api: str = "none"
    encoder: str = "-"


def measure(setup: Setup, config: dict[str, Any]) -> dict[str, Any]:
    calls, reps, profiled = config["calls"], config["reps"], config["profile_calls"]
    loop = _async_loop(setup.call) if setup.is_async else _sync_loop(setup.call)
    loop(max(calls // 4, 10))  # warm-up: first-use imports, caches, the exporter's connection
    setup.flush()
    gc_ns = _GcClock()
    gc.callbacks.append(gc_ns)
    cpu_start = time.process_time()
    walls, thread_cpu = [], 0
    for _ in range(reps):
        thread_start = time.thread_time_ns()
        walls.append(loop(calls) / calls)
        thread_cpu += time.thread_time_ns() - thread_start
        setup.flush()  # a repetition never holds more spans than the batch queue (2048): none dropped
    cpu = time.process_time() - cpu_start
    gc.callbacks.remove(gc_ns)
    profile = cProfile.Profile()
    profile.enable()
    loop(profiled)
    profile.disable()
    setup.flush()
    stats = pstats.Stats(profile)
    python_calls = sum(row[0] for func, row in stats.stats.items() if func[0] != "~")  # type: ignore[attr-defined]
    setup.close()
    timed_spans = reps * calls * setup.spans_per_call
    return {
        "wall_ns": walls, "cpu_us_per_span": cpu / timed_spans * 1e6 if timed_spans else None,
        "cpu_us_per_call": cpu / (reps * calls) * 1e6,
        "thread_cpu_us_per_call": thread_cpu / (reps * calls) / 1000,
        "gc_us_per_call": gc_ns.total / (reps * calls) / 1000,
        "calls_per_call": stats.prim_calls / profiled,  # type: ignore[attr-defined]
        "python_calls_per_call": python_calls / profiled,
        "spans_sent": (max(calls // 4, 10) + reps * calls + profiled) * setup.spans_per_call,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "api": setup.api,
        "encoder": setup.encoder,
    }


class _GcClock:
    """A ``gc.callbacks`` entry adding up the time spent in collections (any thread; they hold the GIL)."""

    def __init__(self) -> None:
        self.total = 0
        self._start = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter_ns()
        else:
            self.total += time.perf_counter_ns() - self._start


def _sync_loop(call: Callable[[int], Any]) -> Callable[[int], int]:
    def run(count: int) -> int:
        start = time.perf_counter_ns()
        for index in range(count):
            call(index)
        return time.perf_counter_ns() - start

    return run


def _async_loop(call: Callable[[int], Any]) -> Callable[[int], int]:
    loop = asyncio.new_event_loop()

    async def timed(count: int) -> int:
        start = time.perf_counter_ns()
        for index in range(count):
            await call(index)
        return time.perf_counter_ns() - start

    return lambda count: loop.run_until_complete(timed(count))
