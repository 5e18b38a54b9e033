"""Building blocks every receiver shares, HTTP and gRPC alike.

``RecordedRequest`` is what a receiver logs per request, ``Fault`` / ``FaultQueue`` are the answers a
test programs in advance, ``Waitable`` lets tests block until the receiver has seen enough and
``RequestLog`` keeps the requests themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Fault", "FaultQueue", "RecordedRequest", "RequestLog", "StatusT", "T", "Waitable"]

StatusT = TypeVar("StatusT")  # an HTTP status (int) or a grpc.StatusCode
T = TypeVar("T")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    body_size: int  # bytes on the wire, i.e. before any Content-Encoding is undone
    body: bytes  # raw (still compressed) body
    status: int  # what the receiver answered (for gRPC: the numeric status code)


@dataclass
class Fault(Generic[StatusT]):
    status: StatusT | None  # None: only delay, then answer normally
    delay: float = 0.0
    body: bytes = b""  # for gRPC: the status details
    content_type: str = "text/plain"
    path_prefix: str = ""
    remaining: int = 1
    retry_after: float | None = None  # HTTP Retry-After header / gRPC RetryInfo delay, seconds


class FaultQueue(Generic[StatusT]):
    """Programmed answers consumed in FIFO order by the first request whose path matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault[StatusT]] = []

    def push(self, fault: Fault[StatusT]) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, path: str) -> Fault[StatusT] | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


class Waitable:
    """Condition-variable waiting shared by all receivers (no sleep/poll loops)."""

    _cond: threading.Condition

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0,
                 what: str | Callable[[], str] = "condition") -> T:
        """Block until ``predicate()`` (run under the lock) is truthy; TimeoutError otherwise."""
        with self._cond:
            result = self._cond.wait_for(predicate, timeout)
            if not result:  # describe the state at timeout, not at the start
                description = what if isinstance(what, str) else what()
                raise TimeoutError(f"timed out after {timeout}s waiting for {description}")
        return result


class RequestLog(Waitable):
    """Every request a receiver answered, in arrival order; receivers append under ``_cond``."""

    def _init_log(self) -> None:
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._rejected = 0

    @property
    def rejected(self) -> int:
        """How many requests were refused (HTTP status >= 400, gRPC status not OK), injected or not."""
        with self._cond:
            return self._rejected

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        with self._cond:
            return [r for r in self._requests if path is None or r.path == path]

    def wait_for_requests(self, n: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        self.wait_for(lambda: len(self._requests) >= n, timeout, f"{n} request(s)")
        return self.requests()
