"""Metric recording off the calling thread: ``record_*`` calls are queued and replayed later.

Recording one measurement through the OTel SDK costs about as much as starting a span (~60
Python calls with one reader), and an operation records two to five. Instrumented code should
pay for its span only, so ``DeferredInstruments`` looks like ``Instruments`` but each
``record_*`` call appends ``(function, args, kwargs)`` to a deque (three calls) and returns.

The queue is replayed into the real instruments:

* at every metric collection, by an observable instrument's callback (the SDK runs callbacks
  before it reads the synchronous instruments' storage), so every reader, ``flush()``, the
  periodic exporter and ``capture().metric_points()`` see every measurement made before it;
* by a daemon thread once ``batch_size`` measurements are pending, so memory stays small
  between collections;
* on the calling thread if ``max_pending`` is reached (the replay thread cannot keep up), so
  memory is bounded whatever happens.

A replay adds up counter increments with the same attributes and records each sum once, so a
batch of 500 tool calls costs 500 histogram records but one ``agents_hub.tool.calls`` add.

Values are computed when the operation ends, so durations and counts are unchanged. The one
loss: histogram exemplars (which need the span current at recording time) are not attached.

After ``fork()`` the child starts with an empty queue, no pending counter sums (both are the
parent's to record), fresh locks (one may have been held by a parent thread mid-replay) and no
replay thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, Counter, Meter, Observation

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.telemetry import semconv as sc

__all__ = ["DeferredInstruments"]

_RECORDERS = (
    "record_llm_call", "record_llm_end", "record_agent_run", "record_tool_call", "record_retrieval",
    "record_memory_operation", "record_moderation", "record_evaluation", "record_satisfaction", "record_error",
    "record_event",
)
_IDLE_WAKEUP_S = 5.0  # how often an idle replay thread checks whether its queue still exists
_ALL: weakref.WeakSet[DeferredInstruments] = weakref.WeakSet()


class DeferredInstruments:
    """Wraps an ``Instruments``; its ``record_*`` methods queue, everything else is the inner one's."""

    def __init__(self, inner: Any, meter: Meter, *, batch_size: int = 2048, max_pending: int = 65_536) -> None:
        self._inner = inner
        self._pending: deque[tuple[int, tuple[Any, ...], dict[str, Any]]] = deque()
        self._targets: list[Callable[..., None]] = []  # the recorders, by the index queued entries carry
        self._batch_size = batch_size
        self._max_pending = max(max_pending, batch_size)
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._signalled = False
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._counters = [_BatchedCounter.install(inner, name) for name, value in list(vars(inner).items())
                          if isinstance(value, Counter)]
        for name in _RECORDERS:
            target = getattr(inner, name, None)
            if target is not None:
                # A partial is called from C: the only Python frame per record is _put. Entries name
                # their recorder by index: a queued tuple of plain values is one the garbage collector
                # stops tracking, while the queue may hold it through many collections.
                setattr(self, name, functools.partial(self._put, len(self._targets)))
                self._targets.append(target)
        meter.create_observable_gauge(sc.METRIC_DEFERRED_REPLAY, [self._replay_on_collect], "1",
                                      "Replays queued measurements at collection (never has points)")
        _ALL.add(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _put(self, index: int, /, *args: Any, **kwargs: Any) -> None:
        pending = self._pending
        pending.append((index, args, kwargs))
        size = len(pending)
        if size >= self._batch_size and (not self._signalled or size >= self._max_pending):
            self._overflow()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def replay(self) -> int:
        """Record everything queued now; returns how many operations were replayed."""
        pending, targets = self._pending, self._targets
        count = 0
        with self._replay_lock:
            while True:
                try:
                    index, args, kwargs = pending.popleft()
                except IndexError:
                    break
                count += 1
                try:
                    targets[index](*args, **kwargs)
                except Exception as error:
                    report_internal_failure("deferred metric", error)
            for counter in self._counters:
                counter.flush()
        return count

    def _replay_on_collect(self, options: CallbackOptions) -> Iterable[Observation]:
        self.replay()
        return ()

    def _overflow(self) -> None:
        if len(self._pending) >= self._max_pending:
            self.replay()  # backpressure: the replay thread is not keeping up
            return
        self._signalled = True
        try:
            self._ensure_thread()
            self._wakeup.set()
        except Exception as error:  # no threads (interpreter shutting down): replay here
            self._signalled = False
            report_internal_failure("deferred metric thread", error)
            self.replay()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=_replay_loop, args=(weakref.ref(self), self._wakeup),
                                                name="agents-hub-metrics", daemon=True)
                # Started from an empty context: with instrument_threads() it would otherwise keep the
                # caller's span current for its whole life.
                contextvars.Context().run(self._thread.start)

    def _after_fork_in_child(self) -> None:
        # The parent replays its own queue and counter sums; replaying the copies here would count
        # them twice. Locks are new: a thread holding one at fork() time does not exist in the child.
        self._pending.clear()
        for counter in self._counters:
            counter.reset()
        self._thread = None
        self._signalled = False
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._wakeup = threading.Event()


class _BatchedCounter:
    """Stands in for a Counter during replays: sums increments per attribute set, adds once per flush."""

    __slots__ = ("_counter", "_sums")

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._sums: dict[tuple[tuple[str, Any], ...], float] = {}

    @classmethod
    def install(cls, owner: Any, name: str) -> _BatchedCounter:
        batched = cls(getattr(owner, name))
        setattr(owner, name, batched)
        return batched

    def add(self, amount: float, attributes: Mapping[str, Any] | None = None, *args: Any, **kwargs: Any) -> None:
        try:
            key = tuple(attributes.items()) if attributes else ()
            self._sums[key] = self._sums.get(key, 0) + amount
        except TypeError:  # unhashable attribute values: record as it comes
            self._counter.add(amount, attributes)

    def reset(self) -> None:
        """Forget the sums not added yet (in a forked child: they are the parent's to add)."""
        self._sums = {}

    def flush(self) -> None:
        sums, self._sums = self._sums, {}
        for key, amount in sums.items():
            try:
                self._counter.add(amount, dict(key))
            except Exception as error:
                report_internal_failure("deferred counter", error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._counter, name)


def _replay_loop(reference: weakref.ref[DeferredInstruments], wakeup: threading.Event) -> None:
    # Holds only a weak reference between rounds, so a dropped monitor is not kept alive.
    while True:
        wakeup.wait(_IDLE_WAKEUP_S)
        target = reference()
        if target is None or target._wakeup is not wakeup:
            return
        wakeup.clear()
        target._signalled = False
        target.replay()
        del target


def _reset_all_after_fork() -> None:
    for instruments in list(_ALL):
        with contextlib.suppress(Exception):
            instruments._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_after_fork)
