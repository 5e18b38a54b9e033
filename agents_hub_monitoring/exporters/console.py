"""A span exporter that prints each finished trace as an indented tree, and feeds the summary.

It is synchronous (``agents_hub_synchronous``): the pipeline hands it every span as the span ends,
already scrubbed. Spans wait in a per-trace buffer until their *local root* ends (the outermost
span this process started in the trace), then that root's subtree is printed in one piece.

Memory is bounded: at most ``max_pending_traces`` traces wait at once (the oldest is printed as
incomplete to make room) and at most ``max_spans_per_trace`` spans per trace (a full buffer is
printed as a part of its trace, and buffering starts again).

Which spans are local roots: a span without a parent or with a remote parent is one. With an
``OpenSpanTracker`` registered on the same TracerProvider (``ConsoleMonitor`` does this), so is a
span whose parent this provider is not running - the host application's own span, or a parent that
already ended. Without a tracker, late spans of an already printed trace are printed on their own.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.exporters.console_render import ConsoleOutput, build_forest, plain_lines, rich_tree
from agents_hub_monitoring.exporters.span_view import SpanView
from agents_hub_monitoring.exporters.summary import SummaryCollector

__all__ = ["LOG_LEVELS", "ConsoleSpanExporter", "OpenSpanTracker", "parse_log_level"]

LOG_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
              "WARN": logging.WARNING, "ERROR": logging.ERROR}
_DONE_TRACES_KEPT = 1024


def parse_log_level(value: Any) -> int:
    """``"DEBUG"``/``"INFO"``/``"WARNING"``/``"ERROR"`` (any case) or the matching ``logging`` constant."""
    if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
        return LOG_LEVELS[value.strip().upper()]
    if isinstance(value, int) and not isinstance(value, bool) and value in LOG_LEVELS.values():
        return value
    raise ValueError(f"log_level must be one of DEBUG, INFO, WARNING, ERROR, got {value!r}")


class OpenSpanTracker(SpanProcessor):
    """Remembers which spans of its provider are still running (at most ``max_open`` ids)."""

    reads_end_attributes = False  # only ids: what spans get at their end is left to the export thread

    def __init__(self, max_open: int = 10_000) -> None:
        self._open: set[int] = set()
        self._max_open = max_open

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if len(self._open) < self._max_open:  # when full, unknown parents count as not ours: printed early
            self._open.add(span.get_span_context().span_id)

    def on_end(self, span: ReadableSpan) -> None:
        self._open.discard(span.get_span_context().span_id)

    def is_open(self, span_id: int) -> bool:
        return span_id in self._open


class ConsoleSpanExporter(SpanExporter):
    """Prints trace trees to ``stream`` (``sys.stdout`` when None, looked up at each write).

    ``log_level``: DEBUG prints every trace with each span's ids and attributes; INFO every trace;
    WARNING only traces with a failed span or a flagged moderation check; ERROR only traces whose
    root failed. Every span reaches ``summary`` whatever the level. ``use_rich``: None picks
    ``rich`` when it is installed and the stream is a terminal.
    """

    agents_hub_synchronous = True

    def __init__(self, *, log_level: str | int = "INFO", include_timestamps: bool = True,
                 stream: TextIO | None = None, use_rich: bool | None = None,
                 summary: SummaryCollector | None = None, tracker: OpenSpanTracker | None = None,
                 max_pending_traces: int = 1000, max_spans_per_trace: int = 1000) -> None:
        if max_pending_traces < 1 or max_spans_per_trace < 1:
            raise ValueError("max_pending_traces and max_spans_per_trace must be at least 1")
        self.level = parse_log_level(log_level)
        self.include_timestamps = bool(include_timestamps)
        self.summary = summary
        self.tracker = tracker
        self.max_pending_traces = max_pending_traces
        self.max_spans_per_trace = max_spans_per_trace
        self.output = ConsoleOutput(stream, use_rich)
        self._pending: OrderedDict[int, list[SpanView]] = OrderedDict()
        self._done: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.RLock()  # also keeps trees from interleaving on the stream
        self._closed = False

    @property
    def stream(self) -> TextIO:
        return self.output.stream

    @property
    def pending_traces(self) -> int:
        return len(self._pending)

    @property
    def pending_spans(self) -> int:
        return sum(map(len, self._pending.values()))

    # -- SpanExporter ------------------------------------------------------------------------------
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            try:
                self._accept(span)
            except Exception as error:  # one odd span (or a closed stream) must not cost the others
                report_internal_failure("console exporter", error)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # pending traces are still running: they print when their root ends

    def shutdown(self) -> None:
        self.drain()
        self._closed = True

    def drain(self, reason: str = "root span not finished") -> None:
        """Print every trace still waiting for its root, marked incomplete."""
        with self._lock:
            while self._pending:
                _, views = self._pending.popitem(last=False)
                self._guarded_emit(views, reason)

    # -- buffering ---------------------------------------------------------------------------------
    def _accept(self, span: ReadableSpan) -> None:
        if self._closed:
            return
        view = SpanView.from_span(span, keep_attributes=self.level <= logging.DEBUG)
        with self._lock:
            if self._is_local_root(span):
                self._guarded_emit(self._take_subtree(view), None)
                return
            buffer = self._pending.get(view.trace_id)
            if buffer is None:
                if len(self._pending) >= self.max_pending_traces:
                    _, oldest = self._pending.popitem(last=False)
                    self._guarded_emit(oldest, "evicted, too many traces in progress")
                buffer = self._pending[view.trace_id] = []
            elif len(buffer) >= self.max_spans_per_trace:
                self._guarded_emit(list(buffer), f"more than {self.max_spans_per_trace} spans, printed in parts")
                buffer.clear()
            buffer.append(view)

    def _is_local_root(self, span: ReadableSpan) -> bool:
        parent = span.parent
        if parent is None or parent.is_remote:
            return True
        if self.tracker is not None:
            return not self.tracker.is_open(parent.span_id)
        return span.get_span_context().trace_id in self._done

    def _take_subtree(self, root: SpanView) -> list[SpanView]:
        """The root and its buffered descendants; other spans of the trace keep waiting."""
        buffer = self._pending.pop(root.trace_id, [])
        children: dict[int | None, list[SpanView]] = {}
        for view in buffer:
            children.setdefault(view.parent_id, []).append(view)
        group, stack, wanted = [root], [root.span_id], {root.span_id}
        while stack:
            for child in children.get(stack.pop(), ()):
                if child.span_id not in wanted:  # ids could repeat in odd input: never loop
                    wanted.add(child.span_id)
                    group.append(child)
                    stack.append(child.span_id)
        rest = [view for view in buffer if view.span_id not in wanted]
        if rest:
            self._pending[root.trace_id] = rest
        self._done[root.trace_id] = None
        while len(self._done) > _DONE_TRACES_KEPT:
            self._done.popitem(last=False)
        return group

    # -- output ------------------------------------------------------------------------------------
    def _guarded_emit(self, views: list[SpanView], incomplete: str | None) -> None:
        try:
            if self.summary is not None:
                self.summary.add_trace(views, complete=incomplete is None)
            if views and self._wanted(views, incomplete):
                self._print_tree(views, incomplete)
        except Exception as error:
            report_internal_failure("console output", error)

    def _wanted(self, views: list[SpanView], incomplete: str | None) -> bool:
        if self.level <= logging.INFO:
            return True
        if self.level >= logging.ERROR:
            return views[0].failed if incomplete is None else any(view.failed for view in views)
        return any(view.failed or view.flagged for view in views)

    def _print_tree(self, views: list[SpanView], incomplete: str | None) -> None:
        forest = build_forest(views)
        options = {"timestamps": self.include_timestamps, "debug": self.level <= logging.DEBUG,
                   "incomplete": incomplete}
        console = self.output.rich_console()
        if console is not None:
            console.print(rich_tree(forest, **options))
        else:
            self.output.write("\n".join(plain_lines(forest, **options)) + "\n")

    def print_summary(self) -> None:
        """Print the summary table (plain, or with rich on a terminal); never raises."""
        if self.summary is None:
            return
        try:
            with self._lock:
                console = self.output.rich_console()
                if console is not None:
                    console.print(self.summary.render_rich())
                else:
                    self.output.write(self.summary.render())
        except Exception as error:
            report_internal_failure("console summary", error)
