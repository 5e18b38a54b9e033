"""ConsoleMonitor: readable trace trees while developing, and a summary table on demand and at exit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TextIO

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter

from agents_hub_monitoring._safety import never_raise, report_internal_failure
from agents_hub_monitoring.exporters.console import ConsoleSpanExporter, OpenSpanTracker, parse_log_level
from agents_hub_monitoring.exporters.summary import SummaryCollector
from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["ConsoleMonitor"]


class ConsoleMonitor(BaseMonitor):
    """Print each finished trace as an indented tree, and a summary of everything seen.

    ``log_level`` decides which traces are printed (all of them always reach the summary):

    * ``"DEBUG"``: every trace, each span with its ids and (scrubbed) attributes;
    * ``"INFO"``: every trace;
    * ``"WARNING"``: traces with a failed span or a flagged moderation check;
    * ``"ERROR"``: traces whose root span failed (the run itself failed).

    ``include_timestamps`` starts each tree with its root's start time (ISO 8601, UTC, ms).
    ``stream`` defaults to ``sys.stdout`` (looked up at each write). ``use_rich``: None draws with
    ``rich`` when it is installed (extra ``console``) and the stream is a terminal, plain ASCII text
    otherwise; True/False force it. The summary (``summary()``, ``print_summary()``) covers every
    finished trace: per agent and model, calls, success rate, p50/p95 latency, tokens and cost; tools
    and their failures; moderation events; mean feedback score. It is printed at shutdown unless
    ``show_summary_at_shutdown=False`` or nothing was recorded. Other exporters may be added
    with ``exporters=``; the remaining keyword arguments are ``BaseMonitor``'s.
    """

    def __init__(self, log_level: str | int = "INFO", include_timestamps: bool = True, *,
                 stream: TextIO | None = None, use_rich: bool | None = None,
                 show_summary_at_shutdown: bool = True, max_pending_traces: int = 1000,
                 max_spans_per_trace: int = 1000, summary_reservoir_size: int = 1024,
                 exporters: Sequence[SpanExporter] = (), span_processors: Sequence[SpanProcessor] = (),
                 name: str = "console", **kwargs: Any) -> None:
        self._level = parse_log_level(log_level)
        self.show_summary_at_shutdown = bool(show_summary_at_shutdown)
        self.summary_collector = SummaryCollector(reservoir_size=summary_reservoir_size)
        tracker = OpenSpanTracker()
        self.console_exporter = ConsoleSpanExporter(
            log_level=self._level, include_timestamps=include_timestamps, stream=stream, use_rich=use_rich,
            summary=self.summary_collector, tracker=tracker, max_pending_traces=max_pending_traces,
            max_spans_per_trace=max_spans_per_trace)
        super().__init__(name, exporters=[self.console_exporter, *exporters],
                         span_processors=[tracker, *span_processors], **kwargs)

    @property
    def log_level(self) -> str:
        return logging.getLevelName(self._level)

    @property
    def include_timestamps(self) -> bool:
        return self.console_exporter.include_timestamps

    @never_raise("ConsoleMonitor.summary", default="")
    def summary(self) -> str:
        """The summary of every finished trace so far, as plain text."""
        return self.summary_collector.render()

    def print_summary(self) -> None:
        """Print the summary to the monitor's stream (a table with rich on a terminal); never raises."""
        self.console_exporter.print_summary()

    def reset_summary(self) -> None:
        self.summary_collector.reset()

    def _before_shutdown(self) -> None:
        # Traces whose root never ended (a run still open in another thread) are printed as
        # incomplete first, so the summary counts them too.
        try:
            self.console_exporter.drain()
            if self.show_summary_at_shutdown and not self.summary_collector.is_empty:
                self.print_summary()
        except Exception as error:  # the pipeline must still shut down
            report_internal_failure("ConsoleMonitor shutdown", error)

    def __repr__(self) -> str:
        return f"ConsoleMonitor(log_level={self.log_level!r}, include_timestamps={self.include_timestamps!r})"
