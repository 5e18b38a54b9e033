"""How one variant is measured, in its own process (see ``_workloads.py``).

Wall time per call on the calling thread for each repetition (``perf_counter_ns``); CPU per span
over all repetitions and their flushes (``process_time``: the export thread, the metric replay and
the encoder count); function calls per call (cProfile, deterministic: primitive calls / calls, and
those of Python functions only); spans sent; peak RSS (``getrusage``).
"""

from __future__ import annotations

import asyncio
import cProfile
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
    cpu_start = time.process_time()
    walls = []
    for _ in range(reps):
        walls.append(loop(calls) / calls)
        setup.flush()  # a repetition never holds more spans than the batch queue (2048): none dropped
    cpu = time.process_time() - cpu_start
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
        "calls_per_call": stats.prim_calls / profiled,  # type: ignore[attr-defined]
        "python_calls_per_call": python_calls / profiled,
        "spans_sent": (max(calls // 4, 10) + reps * calls + profiled) * setup.spans_per_call,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "api": setup.api,
        "encoder": setup.encoder,
    }


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
