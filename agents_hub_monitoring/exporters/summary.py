"""Aggregates finished spans into per-agent, per-model and per-tool statistics, and renders them.

Percentiles (p50, p95) are exact, by the nearest-rank method (the smallest observed value with at
least p% of the observations at or below it), over the most recent ``reservoir_size`` durations of
each row: exact until a row has seen more than that many calls, a sliding window afterwards. Memory
is bounded: at most ``max_keys`` rows per table, further names are counted under ``(other)``.

Spans arrive grouped by trace (the console exporter hands over each trace when it renders it), so
an LLM call's tokens and cost are credited to its nearest enclosing agent run as well.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agents_hub_monitoring.exporters.console_render import is_numeric_column, plain_table
from agents_hub_monitoring.exporters.span_view import SpanView, format_cost, format_duration
from agents_hub_monitoring.telemetry import semconv as sc

__all__ = ["OTHER", "SummaryCollector", "nearest_rank"]

OTHER = "(other)"
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
Section = tuple[str, list[str], list[list[str]], list[str]]  # title, headers, rows, notes


def nearest_rank(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (``fraction`` in 0..1); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


@dataclass
class _Row:
    reservoir_size: int
    calls: int = 0
    errors: int = 0
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    cost: float | None = None
    durations: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self.durations = deque(maxlen=self.reservoir_size)

    def add_call(self, view: SpanView) -> None:
        self.calls += 1
        self.errors += int(view.failed)
        self.durations.append(view.duration_s)

    def add_usage(self, view: SpanView) -> None:
        self.input_tokens += view.input_tokens or 0.0
        self.output_tokens += view.output_tokens or 0.0
        if view.cost is not None:
            self.cost = (self.cost or 0.0) + view.cost

    def latency_cells(self) -> list[str]:
        values = list(self.durations)
        return [format_duration(nearest_rank(values, 0.5)), format_duration(nearest_rank(values, 0.95))]

    def usage_cells(self) -> list[str]:
        return [str(int(self.input_tokens)), str(int(self.output_tokens)), format_cost(self.cost)]

    def success_cell(self) -> str:
        return f"{100.0 * (self.calls - self.errors) / self.calls:.1f}%" if self.calls else "-"


@dataclass
class _Tally:
    count: int = 0
    total: float = 0.0
    numeric: int = 0

    def add(self, value: float | None) -> None:
        self.count += 1
        if value is not None:
            self.total += value
            self.numeric += 1

    def mean_cell(self) -> str:
        return f"{self.total / self.numeric:.2f}" if self.numeric else "-"


class SummaryCollector:
    """Thread-safe, bounded aggregation of finished spans; ``render()`` gives the summary text."""

    def __init__(self, *, reservoir_size: int = 1024, max_keys: int = 256) -> None:
        if reservoir_size < 1 or max_keys < 1:
            raise ValueError("reservoir_size and max_keys must be at least 1")
        self.reservoir_size = reservoir_size
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.traces = self.failed_traces = self.spans = self.events = 0
            self.totals = _Row(1)
            self.agents: dict[str, _Row] = {}
            self.models: dict[str, _Row] = {}
            self.tools: dict[str, _Row] = {}
            self.moderation: dict[tuple[str, str], _Tally] = {}
            self.moderation_checks = 0
            self.scores: dict[tuple[str, str], _Tally] = {}

    @property
    def is_empty(self) -> bool:
        return self.spans == 0

    def _slot(self, table: dict[_K, _V], key: _K, other: _K, make: Callable[[], _V]) -> _V:
        if key not in table and len(table) >= self.max_keys:
            key = other  # bounded: high-cardinality names share one row
        return table[key] if key in table else table.setdefault(key, make())

    def _row(self, table: dict[str, _Row], key: str | None) -> _Row:
        return self._slot(table, key or "(unknown)", OTHER, lambda: _Row(self.reservoir_size))

    def add_trace(self, views: Sequence[SpanView], *, complete: bool = True) -> None:
        """Count the spans of one trace (or part of one); ``complete`` when its local root is among them."""
        by_id = {view.span_id: view for view in views}
        with self._lock:
            if complete:
                roots = [v for v in views if v.parent_id not in by_id]
                self.traces += 1
                self.failed_traces += int(any(root.failed for root in roots))
            for view in views:
                self._add(view, by_id)

    def _add(self, view: SpanView, by_id: dict[int, SpanView]) -> None:
        self.spans += 1
        if view.operation == sc.OP_INVOKE_AGENT:
            self._row(self.agents, view.agent_name).add_call(view)
        elif view.is_llm:
            row = self._row(self.models, view.model)
            row.add_call(view)
            row.add_usage(view)
            self.totals.add_usage(view)
            agent = _enclosing_agent(view, by_id)
            if agent is not None:
                self._row(self.agents, agent.agent_name).add_usage(view)
        elif view.operation == sc.OP_EXECUTE_TOOL:
            self._row(self.tools, view.tool_name or view.name).add_call(view)
        elif view.operation == sc.OP_GUARDRAIL:
            self.moderation_checks += 1
            if view.flagged:
                key = (view.moderation_category or "-", view.moderation_action or "-")
                self._slot(self.moderation, key, (OTHER, "-"), _Tally).add(None)
        elif view.operation == sc.OP_EVALUATION:
            key = (view.evaluation_name or "score", view.evaluation_kind or "score")
            self._slot(self.scores, key, (OTHER, key[1]), _Tally).add(view.evaluation_value)
        elif view.event_name is not None:
            self.events += 1

    # -- rendering ---------------------------------------------------------------------------------
    def sections(self) -> list[Section]:
        """The summary as titled tables (plain strings), empty sections left out."""
        with self._lock:
            return [section for section in (self._overview(), self._agents(), self._models(), self._tools(),
                                             self._moderation(), self._feedback()) if section is not None]

    def _overview(self) -> Section:
        totals = self.totals
        note = (f"traces {self.traces} (failed {self.failed_traces})  spans {self.spans}  "
                f"tokens {int(totals.input_tokens)} in / {int(totals.output_tokens)} out  "
                f"cost {format_cost(totals.cost)}  events {self.events}")
        return ("Summary", [], [], [note])

    def _agents(self) -> Section | None:
        rows = [[name, str(row.calls), row.success_cell(), *row.latency_cells(), *row.usage_cells()]
                for name, row in self.agents.items() if row.calls or row.input_tokens or row.cost]
        headers = ["agent", "runs", "success", "p50", "p95", "tokens in", "tokens out", "cost"]
        return ("Agents", headers, rows, []) if rows else None

    def _models(self) -> Section | None:
        rows = [[name, str(row.calls), row.success_cell(), *row.latency_cells(), *row.usage_cells()]
                for name, row in self.models.items()]
        headers = ["model", "calls", "success", "p50", "p95", "tokens in", "tokens out", "cost"]
        return ("Models", headers, rows, []) if rows else None

    def _tools(self) -> Section | None:
        rows = [[name, str(row.calls), str(row.errors), *row.latency_cells()] for name, row in self.tools.items()]
        return ("Tools", ["tool", "calls", "failures", "p50", "p95"], rows, []) if rows else None

    def _moderation(self) -> Section | None:
        if not self.moderation_checks:
            return None
        flagged = sum(tally.count for tally in self.moderation.values())
        rows = [[category, action, str(tally.count)] for (category, action), tally in self.moderation.items()]
        note = f"checks {self.moderation_checks}  flagged {flagged}"
        return ("Moderation", ["category", "action", "flagged"] if rows else [], rows, [note])

    def _feedback(self) -> Section | None:
        if not self.scores:
            return None
        feedback = [tally for (_, kind), tally in self.scores.items() if kind == "feedback"]
        rated = sum(tally.numeric for tally in feedback)
        mean = f"{sum(tally.total for tally in feedback) / rated:.2f}" if rated else "-"
        note = f"mean feedback score {mean} ({rated} rating{'' if rated == 1 else 's'})"
        rows = [[name, kind, str(tally.count), tally.mean_cell()] for (name, kind), tally in self.scores.items()]
        return ("Feedback and scores", ["name", "kind", "count", "mean"], rows, [note])

    def render(self) -> str:
        """The summary as plain text."""
        lines: list[str] = []
        for title, headers, rows, notes in self.sections():
            lines.extend([*([""] if lines else []), f"== {title} ==", *notes])
            if headers:
                lines.extend(plain_table(headers, rows))
        return "\n".join(lines) + "\n"

    def render_rich(self) -> Any:
        """The summary as a ``rich`` renderable (rich imported only here)."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        parts: list[Any] = []
        for title, headers, rows, notes in self.sections():
            parts.append(Text(f"{title}", style="bold underline"))
            parts.extend(Text(note) for note in notes)
            if headers:
                table = Table(show_edge=False, header_style="bold")
                for index, header in enumerate(headers):
                    numeric = is_numeric_column([row[index] for row in rows])
                    table.add_column(header, justify="right" if numeric else "left")
                for row in rows:
                    table.add_row(*row)
                parts.append(table)
        return Group(*parts)


def _enclosing_agent(view: SpanView, by_id: dict[int, SpanView]) -> SpanView | None:
    """The nearest ``invoke_agent`` ancestor within the trace (bounded walk: ids could form a loop)."""
    current = by_id.get(view.parent_id) if view.parent_id is not None else None
    for _ in range(256):
        if current is None or current.operation == sc.OP_INVOKE_AGENT:
            return current
        current = by_id.get(current.parent_id) if current.parent_id is not None else None
    return None

