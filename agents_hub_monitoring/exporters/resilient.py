"""Exporter wrappers that are bounded, counted and quiet.

Every exporter we run sits behind these: an exporter that raises, hangs on shutdown or keeps
failing never reaches the host program. Failures are counted (visible as health metrics and in
``ExportStats``) and logged once per interval with the exporter's own reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agents_hub_monitoring._safety import internal_logger

__all__ = [
    "DEFAULT_SHUTDOWN_TIMEOUT_S",
    "ExportStats",
    "FanoutSpanExporter",
    "ResilientMetricExporter",
    "ResilientSpanExporter",
    "call_with_deadline",
    "run_with_deadline",
]

DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0


@dataclass
class ExportStats:
    """Counts for one exporter; read by the health metrics and by tests."""

    name: str
    exported: int = 0
    failed: int = 0
    failed_batches: int = 0
    errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, count: int, ok: bool, raised: bool = False) -> None:
        with self._lock:
            if ok:
                self.exported += count
                return
            self.failed += count
            self.failed_batches += 1
            self.errors += int(raised)


def call_with_deadline(name: str, action: object, timeout_s: float) -> bool:
    """Run ``action()`` on a daemon thread and wait at most ``timeout_s``.

    Shutdown of a network exporter can block for its full retry schedule when the backend is
    down; the host's exit must not wait for that. Returns False when it timed out or raised.
    """
    outcome: list[bool] = []

    def run() -> None:
        try:
            action()  # type: ignore[operator]
            outcome.append(True)
        except Exception as error:
            internal_logger.warning(f"{name}:deadline", "%s failed: %s", name, error)

    worker = threading.Thread(target=run, name=f"agents-hub-{name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        internal_logger.warning(f"{name}:timeout", "%s did not finish within %.1fs; abandoned", name, timeout_s)
        return False
    return bool(outcome)


def run_with_deadline(actions: dict[str, Callable[[], object]], timeout_s: float) -> bool:
    """Run several actions side by side on daemon threads and wait at most ``timeout_s`` in all.

    Returns False when any of them timed out or raised.
    """
    finished: dict[str, bool] = {}

    def run(name: str, action: Callable[[], object]) -> None:
        try:
            action()
            finished[name] = True
        except Exception as error:
            finished[name] = False
            internal_logger.warning(f"{name}:deadline", "%s failed: %s", name, error)

    workers = [threading.Thread(target=run, args=item, name=f"agents-hub-{item[0]}", daemon=True)
               for item in actions.items()]
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    for name in (name for name in actions if name not in finished):
        internal_logger.warning(f"{name}:timeout", "%s did not finish within %.1fs; abandoned", name, timeout_s)
    return all(finished.get(name, False) for name in actions)


class ResilientSpanExporter(SpanExporter):
    """Wraps a span exporter: never raises, counts every span, bounds shutdown."""

    def __init__(self, inner: SpanExporter, name: str | None = None,
                 shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> None:
        self.inner = inner
        self.name = name or type(inner).__name__
        self.stats = ExportStats(self.name)
        self._shutdown_timeout_s = shutdown_timeout_s
        # Exporters that log their own failures with the backend's reason (Langfuse) would
        # otherwise get a second, vaguer line from us.
        self._reports_own_failures = bool(getattr(inner, "agents_hub_reports_failures", False))

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as error:
            self.stats.record(len(spans), ok=False, raised=True)
            internal_logger.warning(
                f"export:{self.name}", "%s raised while exporting %d spans (dropped): %s: %s",
                self.name, len(spans), type(error).__name__, error,
            )
            return SpanExportResult.FAILURE
        ok = result is SpanExportResult.SUCCESS
        self.stats.record(len(spans), ok=ok)
        if not ok and not self._reports_own_failures:
            internal_logger.warning(
                f"export:{self.name}", "%s failed to export %d spans", self.name, len(spans)
            )
        return result

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception as error:
            internal_logger.warning(f"flush:{self.name}", "%s flush failed: %s", self.name, error)
            return False

    def shutdown(self) -> None:
        call_with_deadline(f"{self.name}.shutdown", self.inner.shutdown, self._shutdown_timeout_s)


class FanoutSpanExporter(SpanExporter):
    """Hands one batch to several exporters, so processing before it (scrubbing) runs once."""

    def __init__(self, exporters: Sequence[SpanExporter]) -> None:
        self.exporters = tuple(exporters)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        results = [exporter.export(spans) for exporter in self.exporters]
        if all(result is SpanExportResult.SUCCESS for result in results):
            return SpanExportResult.SUCCESS
        return SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all([exporter.force_flush(timeout_millis) for exporter in self.exporters])

    def shutdown(self) -> None:
        for exporter in self.exporters:
            exporter.shutdown()


class ResilientMetricExporter(MetricExporter):
    """Wraps a metric exporter: never raises, counts failed exports, bounds shutdown."""

    def __init__(self, inner: MetricExporter, name: str | None = None,
                 shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self.name = name or type(inner).__name__
        self.stats = ExportStats(self.name)
        self._shutdown_timeout_s = shutdown_timeout_s

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: object) -> MetricExportResult:
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception as error:
            self.stats.record(1, ok=False, raised=True)
            internal_logger.warning(f"metrics:{self.name}", "%s raised while exporting metrics: %s",
                                    self.name, error)
            return MetricExportResult.FAILURE
        ok = result is MetricExportResult.SUCCESS
        self.stats.record(1, ok=ok)
        if not ok:
            internal_logger.warning(f"metrics:{self.name}", "%s failed to export metrics", self.name)
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception:
            return False

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        call_with_deadline(f"{self.name}.shutdown", lambda: self.inner.shutdown(timeout_millis),
                           self._shutdown_timeout_s)
