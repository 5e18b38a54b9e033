"""Instrumentation must never break the host program.

Internal failures are logged (once per key per interval, so a failing exporter cannot flood the
host's logs) and swallowed. The user's own exceptions never pass through here.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["RateLimitedLogger", "internal_logger", "never_raise", "report_internal_failure"]

_T = TypeVar("_T")
logger = logging.getLogger("agents_hub_monitoring")


class RateLimitedLogger:
    """Logs a message at most once per ``interval`` seconds for each key."""

    def __init__(self, target: logging.Logger, interval: float = 60.0) -> None:
        self._target = target
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, level: int, key: str, message: str, *args: Any, exc_info: bool = False) -> bool:
        """Log unless ``key`` was logged within the interval; returns whether it was logged."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            message = f"{message} ({suppressed} similar messages suppressed)"
        self._target.log(level, message, *args, exc_info=exc_info)
        return True

    def warning(self, key: str, message: str, *args: Any, exc_info: bool = False) -> bool:
        return self.log(logging.WARNING, key, message, *args, exc_info=exc_info)

    def error(self, key: str, message: str, *args: Any, exc_info: bool = False) -> bool:
        return self.log(logging.ERROR, key, message, *args, exc_info=exc_info)

    def reset(self) -> None:
        with self._lock:
            self._last.clear()
            self._suppressed.clear()


internal_logger = RateLimitedLogger(logger)


def report_internal_failure(where: str, error: BaseException) -> None:
    """Log an internal failure once per place and interval; never raises."""
    # If logging itself is broken there is nothing left to do: suppress that too.
    with contextlib.suppress(Exception):
        internal_logger.warning(
            where, "agents_hub_monitoring: internal failure in %s (ignored): %s: %s",
            where, type(error).__name__, error, exc_info=True,
        )


def never_raise(where: str, default: Any = None) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """Decorate an internal function so any ``Exception`` is reported and ``default`` returned.

    Only ``Exception`` is caught: KeyboardInterrupt, SystemExit and cancellation belong to the
    host program and pass through.
    """

    def decorate(function: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> _T:
            try:
                return function(*args, **kwargs)
            except Exception as error:
                report_internal_failure(where, error)
                return default

        return guarded

    return decorate
