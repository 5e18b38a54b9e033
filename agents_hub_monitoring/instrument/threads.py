"""Context that follows work into threads: ``instrument_threads()``, one call at start-up.

Python starts every thread with an empty ``contextvars`` context, so a span current in the
caller (and the bound conversation) is lost in ``ThreadPoolExecutor`` tasks and
``threading.Thread`` targets: their spans start new traces. After ``instrument_threads()``:

* ``ThreadPoolExecutor.submit`` (so also ``map`` and asyncio's ``run_in_executor``) runs each task
  in a copy of the submitting caller's context;
* ``threading.Thread.start`` runs the thread's ``run`` in a copy of the starting caller's context
  (subclasses that override ``run`` included).

The executor's own worker threads start in an empty context, so one task's context never
becomes another's. ``uninstrument_threads()`` restores the originals. Without patching, wrap the
callable yourself: ``executor.submit(propagate_context(work), item)``.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["instrument_threads", "threads_instrumented", "uninstrument_threads"]

_lock = threading.Lock()
_originals: dict[str, Any] = {}


def _submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
    context = contextvars.copy_context()
    # The executor's internals (and any worker thread they start) run in an empty context.
    return contextvars.Context().run(_originals["submit"], self, context.run, fn, *args, **kwargs)


def _start(self: threading.Thread) -> None:
    context = contextvars.copy_context()
    run = self.run

    def run_in_context() -> None:
        try:
            context.run(run)
        finally:
            vars(self).pop("run", None)  # drop the reference to the context once done

    self.run = run_in_context  # type: ignore[method-assign]
    try:
        _originals["start"](self)
    except BaseException:
        vars(self).pop("run", None)
        raise


def instrument_threads() -> None:
    """Make thread pools and threads carry the caller's context (spans and conversation). Idempotent."""
    with _lock:
        if _originals:
            return
        _originals["submit"] = ThreadPoolExecutor.submit
        _originals["start"] = threading.Thread.start
        ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign]
        threading.Thread.start = _start  # type: ignore[method-assign]


def uninstrument_threads() -> None:
    """Restore ``ThreadPoolExecutor.submit`` and ``threading.Thread.start``. Idempotent."""
    with _lock:
        if not _originals:
            return
        ThreadPoolExecutor.submit = _originals.pop("submit")  # type: ignore[method-assign]
        threading.Thread.start = _originals.pop("start")  # type: ignore[method-assign]


def threads_instrumented() -> bool:
    return bool(_originals)
