"""Drawing span trees and tables as plain text (ASCII, for logs and pipes) or with ``rich`` (terminals).

Plain output uses ASCII connectors only, so a stream with a narrow encoding (a Windows console, a
latin-1 log file) can always take it. Each node is described once as styled segments; the plain
and the rich renderers draw the same segments.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from agents_hub_monitoring._safety import internal_logger
from agents_hub_monitoring.exporters.span_view import (
    MARKER_OPERATIONS,
    SpanView,
    format_cost,
    format_duration,
    format_timestamp,
)
from agents_hub_monitoring.telemetry import semconv as sc

__all__ = [
    "ConsoleOutput", "Node", "build_forest", "is_numeric_column", "plain_lines", "plain_table", "rich_tree", "segments",
]

Segment = tuple[str, str]  # (text, rich style)
_NUMERIC_CELL = re.compile(r"-|\$?-?[\d.,]+[s%]?")


@dataclass
class Node:
    view: SpanView
    children: list[Node] = field(default_factory=list)


def build_forest(views: Iterable[SpanView]) -> list[Node]:
    """Nodes linked by parent id; spans whose parent is not among ``views`` become top-level nodes."""
    nodes = {view.span_id: Node(view) for view in views}
    roots: list[Node] = []
    for node in nodes.values():
        parent = nodes.get(node.view.parent_id) if node.view.parent_id is not None else None
        (parent.children if parent is not None and parent is not node else roots).append(node)
    for node in nodes.values():
        node.children.sort(key=_order)
    return sorted(roots, key=_order)


def _order(node: Node) -> tuple[int, int]:
    return node.view.start_ns, node.view.end_ns


def _count(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def label(view: SpanView) -> str:
    """Operation and name: span names already read ``{operation} {target}``; events get ``event``."""
    if view.event_name is not None and view.operation in (None, sc.OP_EVENT):
        return f"event {view.name}"
    named = view.operation in MARKER_OPERATIONS  # "error ValueError", "evaluation relevance"
    if view.operation and not named and not view.name.startswith(view.operation):
        return f"{view.operation} {view.name}"
    return view.name


def segments(view: SpanView) -> list[Segment]:
    """Label, duration, tokens, cost, operation details and status, each with its style."""
    parts: list[Segment] = [(label(view), "bold")]
    if view.operation not in MARKER_OPERATIONS and view.event_name is None:
        parts.append((format_duration(view.duration_s), "dim"))
    if view.input_tokens is not None or view.output_tokens is not None:
        tokens_in = _count(view.input_tokens) if view.input_tokens is not None else "?"
        tokens_out = _count(view.output_tokens) if view.output_tokens is not None else "?"
        parts.append((f"tokens {tokens_in} in / {tokens_out} out", "cyan"))
    if view.cost is not None:
        parts.append((f"cost {format_cost(view.cost)}", "cyan"))
    parts.extend(_details(view))
    parts.append(_status(view))
    return parts


def _details(view: SpanView) -> list[Segment]:
    if view.operation == sc.OP_GUARDRAIL:
        if not view.flagged:
            return [("passed", "green")]
        reason = " -> ".join(part for part in (view.moderation_category, view.moderation_action) if part)
        return [(f"FLAGGED {reason}".rstrip(), "bold yellow")]
    if view.operation == sc.OP_EVALUATION:
        value = _count(view.evaluation_value) if view.evaluation_value is not None else view.evaluation_label
        return [(f"{view.evaluation_kind or 'score'} {value if value is not None else '?'}", "magenta")]
    parts: list[Segment] = [(f"store {view.memory_store}", "")] if view.memory_store else []
    if view.result_count is not None:
        parts.append((f"results {_count(view.result_count)}", ""))
    return parts


def _status(view: SpanView) -> Segment:
    if view.failed:
        return (f"ERROR {view.error}" if view.error else "ERROR", "bold red")
    if view.outcome == "unfinished":
        return ("unfinished", "yellow")
    return ("ok", "green")


def _debug_lines(view: SpanView) -> list[str]:
    ids = [f"trace_id = {view.trace_id:032x}", f"span_id = {view.span_id:016x}"]
    return ids + [f"{key} = {value}" for key, value in view.attributes]


def heading(forest: Sequence[Node], *, timestamps: bool, incomplete: str | None) -> str:
    """The first line's prefix: the root's start time, and a note when the trace is partial."""
    stamp = ""
    if timestamps and forest:
        stamp = format_timestamp(min(node.view.start_ns for node in forest))
    if incomplete is None:
        return f"{stamp} " if stamp else ""
    trace_id = forest[0].view.trace_id if forest else 0
    note = f"(incomplete trace {trace_id:032x}: {incomplete})"
    return f"{stamp} {note}" if stamp else note


def plain_lines(forest: Sequence[Node], *, timestamps: bool, debug: bool, incomplete: str | None) -> list[str]:
    """An indented ASCII tree; an incomplete group gets a heading line with its nodes under it."""
    lines: list[str] = []

    def walk(node: Node, first: str, rest: str) -> None:
        lines.append(first + "  ".join(text for text, _ in segments(node.view)))
        if debug:
            bar = "|   " if node.children else "    "
            lines.extend(rest + bar + line for line in _debug_lines(node.view))
        for index, child in enumerate(node.children):
            last = index == len(node.children) - 1
            walk(child, rest + ("`-- " if last else "|-- "), rest + ("    " if last else "|   "))

    head = heading(forest, timestamps=timestamps, incomplete=incomplete)
    if incomplete is None and len(forest) == 1:
        walk(forest[0], head, "")
        return lines
    lines.append(head.rstrip())
    for index, node in enumerate(forest):
        last = index == len(forest) - 1
        walk(node, "`-- " if last else "|-- ", "    " if last else "|   ")
    return lines


def rich_tree(forest: Sequence[Node], *, timestamps: bool, debug: bool, incomplete: str | None) -> Any:
    """The same tree as a ``rich.tree.Tree`` (rich imported only when this is called)."""
    from rich.text import Text
    from rich.tree import Tree

    def styled(view: SpanView, prefix: str = "") -> Any:
        line = Text(prefix, style="dim")
        for index, (part, style) in enumerate(segments(view)):
            line.append(("  " if index else "") + part, style=style or None)
        return line

    def add(parent: Any, node: Node) -> None:
        branch = parent.add(styled(node.view))
        fill(branch, node)

    def fill(branch: Any, node: Node) -> None:
        if debug:
            branch.add(Text("\n".join(_debug_lines(node.view)), style="dim"))
        for child in node.children:
            add(branch, child)

    head = heading(forest, timestamps=timestamps, incomplete=incomplete)
    if incomplete is None and len(forest) == 1:
        tree = Tree(styled(forest[0].view, head))
        fill(tree, forest[0])
        return tree
    tree = Tree(Text(head.rstrip(), style="yellow"))
    for node in forest:
        add(tree, node)
    return tree


def plain_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Columns padded to width, numbers right-aligned, text left-aligned; a dashed rule under the header."""
    rows = [list(row) for row in rows]
    widths = [max([len(header), *(len(row[index]) for row in rows)]) for index, header in enumerate(headers)]
    numeric = [index > 0 and is_numeric_column([row[index] for row in rows]) for index in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.rjust(width) if right else cell.ljust(width)
                  for cell, width, right in zip(cells, widths, numeric, strict=False)]
        return "  ".join(padded).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)]


def is_numeric_column(cells: Sequence[str]) -> bool:
    """Counts, durations, costs and percentages (or ``-``) line up on the right."""
    return bool(cells) and all(_NUMERIC_CELL.fullmatch(cell) for cell in cells)


class ConsoleOutput:
    """Where console text goes: ``stream`` (``sys.stdout``, looked up at each write, when None), drawn
    with ``rich`` when ``use_rich`` is True, or None and the stream is a terminal."""

    def __init__(self, stream: TextIO | None = None, use_rich: bool | None = None) -> None:
        self._stream = stream
        self.use_rich = use_rich
        self._console: tuple[Any, Any] | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def write(self, text: str) -> None:
        stream = self.stream
        stream.write(text)
        with contextlib.suppress(Exception):
            stream.flush()

    def rich_console(self) -> Any:
        """A rich Console on the current stream when rich is wanted and available, else None."""
        stream = self.stream
        if self.use_rich is False or not _rich_available():
            if self.use_rich:
                internal_logger.warning("console:rich", "use_rich=True but rich is not installed "
                                        "(pip install 'agents-hub-monitoring[console]'); printing plain text")
            return None
        if self.use_rich is None and not _is_terminal(stream):
            return None
        if self._console is None or self._console[0] is not stream:
            from rich.console import Console

            self._console = (stream, Console(file=stream, highlight=False, markup=False, emoji=False))
        return self._console[1]


@functools.lru_cache(maxsize=1)
def _rich_available() -> bool:
    return importlib.util.find_spec("rich") is not None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # closed, or a file-like object without isatty
        return False
