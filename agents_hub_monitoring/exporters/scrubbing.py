"""A span exporter that applies the privacy policy before any backend sees a span.

Design choice: scrubbing happens here, on the export thread (behind the batch processor), not when the
span ends, so the instrumented code never pays for the regexes. The wrapper sits in front of the
fan-out, so every backend receives the same scrubbed data and each span is scrubbed once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agents_hub_monitoring._safety import RateLimitedLogger
from agents_hub_monitoring.privacy import Scrubber

__all__ = ["ScrubbingSpanExporter"]

_logger = logging.getLogger(__name__)
_WARNING_INTERVAL_S = 60.0


class ScrubbingSpanExporter(SpanExporter):
    """Scrubs every span with ``scrubber`` and passes the batch on to ``inner``; never raises.

    A span whose scrubbing fails is dropped rather than exported unscrubbed (counted in
    ``dropped_spans``); the rest of the batch still goes through. Warnings name only the error type,
    never its message, since the message may quote the very content being protected.
    """

    def __init__(self, inner: SpanExporter, scrubber: Scrubber) -> None:
        self.inner = inner
        self.scrubber = scrubber
        self.dropped_spans = 0
        self._lock = threading.Lock()
        self._warnings = RateLimitedLogger(_logger, interval=_WARNING_INTERVAL_S)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        scrubbed = self._scrub_all(spans)
        if not scrubbed:
            return SpanExportResult.SUCCESS  # nothing left to send is not a failure of the backend
        try:
            return self.inner.export(scrubbed)
        except Exception as error:
            inner_name = type(self.inner).__name__
            self._warn("export", "inner exporter %s raised %s", inner_name, type(error).__name__)
            return SpanExportResult.FAILURE

    def _scrub_all(self, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
        scrubbed: list[ReadableSpan] = []
        for span in spans:
            try:
                scrubbed.append(self.scrubber.scrub_span(span))
            except Exception as error:
                with self._lock:
                    self.dropped_spans += 1
                    total = self.dropped_spans
                self._warn("scrub", "dropped a span whose scrubbing failed with %s (%d dropped so far)",
                           type(error).__name__, total)
        return scrubbed

    def _warn(self, key: str, message: str, *args: object) -> None:
        with contextlib.suppress(Exception):  # broken logging must not stop the export
            self._warnings.warning(key, f"agents_hub_monitoring: {message}", *args)

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception as error:
            self._warn("shutdown", "inner exporter shutdown raised %s", type(error).__name__)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return self.inner.force_flush(timeout_millis)
        except Exception as error:
            self._warn("flush", "inner exporter force_flush raised %s", type(error).__name__)
            return False
