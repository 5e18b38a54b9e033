"""Open Agents Hub turns: bounded in number and age, so a caller that never finishes a turn
cannot grow memory (the original module leaked here).

Turns are tracked per run, not per conversation id: two concurrent ``Agent.run()`` calls with
the same conversation id (the Agent defaults it to ``"default"``) each keep their own turn. The
hooks find "their" turn through a context variable (see hooks.py); this registry bounds them and
serves callers that report from another context.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from agents_hub_monitoring.monitors.handles import SpanHandle
from agents_hub_monitoring.monitors.operations import AgentRunHandle, LLMCallHandle, ToolCallHandle
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.context import ConversationContext

__all__ = ["Turn", "TurnTracker"]


@dataclass
class Turn:
    """One ``Agent.run()``: its root span and the child spans still waiting for their result.

    ``root`` is None for a detached turn: LLM or tool calls reported for a conversation that has
    no open turn (imperative use). Their spans then hang under whatever span was current.
    """

    conversation_id: str
    conversation: ConversationContext
    agent_name: str | None
    root: AgentRunHandle | None
    opened_at: float = field(default_factory=time.monotonic)
    llm_calls: list[LLMCallHandle] = field(default_factory=list)
    tools: list[ToolCallHandle] = field(default_factory=list)
    tool_arguments: dict[int, str | None] = field(default_factory=dict)
    answered: bool = False
    errors: int = 0
    closed: bool = False
    outer: Turn | None = None  # the turn this one runs inside (an agent called from a tool)

    def open_children(self) -> list[SpanHandle]:
        return [*self.llm_calls, *self.tools]

    def latest_open_child(self) -> SpanHandle | None:
        children = self.open_children()
        return max(children, key=lambda child: child._started) if children else None

    def forget(self, child: SpanHandle) -> None:
        if child in self.llm_calls:
            self.llm_calls.remove(child)
        if child in self.tools:
            self.tools.remove(child)
            self.tool_arguments.pop(id(child), None)

    def close(self, *, unfinished_reason: str | None = None) -> None:
        """End every open child, then the root; an unanswered turn ends with status ERROR."""
        if self.closed:
            return
        self.closed = True
        for child in self.open_children():
            child._set_late(sc.OUTCOME, "unfinished")
            child.end()
        self.llm_calls.clear()
        self.tools.clear()
        self.tool_arguments.clear()
        if self.root is None:
            return
        if self.errors:
            self.root.span.set_attribute(sc.ERROR_COUNT, self.errors)
        if not self.answered and not self.root.failed:
            self.root.record_error(f"turn ended without an answer ({unfinished_reason})",
                                   error_type="unfinished")
        self.root.end()


class TurnTracker:
    """Open turns in the order they opened; thread-safe, bounded by count and age."""

    def __init__(self, max_open: int, max_age_s: float) -> None:
        if max_open < 1:
            raise ValueError(f"max_open_turns must be at least 1, got {max_open!r}")
        if max_age_s <= 0:
            raise ValueError(f"max_turn_age_s must be positive, got {max_age_s!r}")
        self._turns: OrderedDict[int, Turn] = OrderedDict()
        self._lock = threading.Lock()
        self._max_open = max_open
        self._max_age_s = max_age_s

    def latest(self, conversation_id: str | None) -> Turn | None:
        """The most recently opened open turn of a conversation."""
        if conversation_id is None:
            return None
        with self._lock:
            for turn in reversed(self._turns.values()):
                if turn.conversation_id == conversation_id and not turn.closed:
                    return turn
        return None

    def __contains__(self, turn: Turn) -> bool:
        return id(turn) in self._turns

    def add(self, turn: Turn) -> list[Turn]:
        """Register ``turn``; returns the turns it displaced (too old, or over the limit)."""
        displaced: list[Turn] = []
        now = time.monotonic()
        with self._lock:
            while self._turns:
                oldest = next(iter(self._turns.values()))
                if len(self._turns) < self._max_open and now - oldest.opened_at < self._max_age_s:
                    break
                displaced.append(self._turns.popitem(last=False)[1])
            self._turns[id(turn)] = turn
        return displaced

    def remove(self, turn: Turn) -> None:
        with self._lock:
            self._turns.pop(id(turn), None)

    def pop_all(self) -> list[Turn]:
        with self._lock:
            turns = list(self._turns.values())
            self._turns.clear()
        return turns

    def __len__(self) -> int:
        return len(self._turns)
