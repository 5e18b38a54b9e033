"""Which turn a hook call belongs to: per run, not per conversation id.

``start_conversation`` puts the new turn in a context variable. The Agents Hub Agent awaits every
hook from inside one ``run()`` (one asyncio task, or one thread), so the later hooks of that run
find the same turn there, even while another run of the same conversation id is in flight. An
agent started from inside a running tool (nested agents) gets a turn of its own, parented under
that tool's span, and the outer turn comes back when the inner one ends.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring.monitors.emit import open_handle
from agents_hub_monitoring.monitors.turns import Turn, TurnTracker
from agents_hub_monitoring.serialization import coerce_id
from agents_hub_monitoring.telemetry.context import ConversationContext, current_conversation

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["TurnStateMixin"]


class TurnStateMixin:
    """Opening, finding and ending turns for the hooks (see hooks.py)."""

    _turns: TurnTracker
    _active_turn: contextvars.ContextVar[Turn | None]

    def _init_hooks(self, *, max_open_turns: int, max_turn_age_s: float) -> None:
        self._turns = TurnTracker(max_open_turns, max_turn_age_s)
        self._active_turn = contextvars.ContextVar(f"agents_hub_turn_{id(self)}", default=None)

    def _close_open_turns(self, reason: str) -> None:
        for turn in self._turns.pop_all():
            turn.close(unfinished_reason=reason)

    def _find_turn(self, conversation_id: str | None) -> Turn | None:
        """This run's open turn for the conversation (or any, without an id); else the latest
        open turn of that conversation, for a caller reporting from another context."""
        turn = self._active_turn.get()
        while turn is not None:
            if not turn.closed and (conversation_id is None or turn.conversation_id == conversation_id):
                return turn
            turn = turn.outer
        return self._turns.latest(conversation_id)

    def _open_turn(self: BaseMonitor, cid: str, agent_name: str | None, user_id: Any,  # type: ignore[misc]
                   metadata: Any) -> Turn:
        """A new turn in this context. A previous turn that waits on nothing was abandoned (the
        Agent raised before answering) and ends unfinished; one inside a running tool is outer."""
        previous = self._active_turn.get()
        while previous is not None and (previous.closed or previous.latest_open_child() is None):
            if not previous.closed:
                previous.close(unfinished_reason="superseded by a new turn")
                self._turns.remove(previous)
            previous = previous.outer
        conversation = current_conversation().merged_with(ConversationContext.from_mapping(
            {"conversation_id": cid, "user_id": user_id, "metadata": metadata}))
        parent = previous.latest_open_child() if previous is not None else None
        root = open_handle(self, self._agent_spec(agent_name or "agent", context=conversation), parent)
        turn = Turn(cid, conversation, agent_name, root=root, outer=previous)
        self._register(turn)
        self._active_turn.set(turn)
        return turn

    def _end_turn(self, turn: Turn, *, unfinished_reason: str | None = None) -> None:
        turn.close(unfinished_reason=unfinished_reason)
        self._turns.remove(turn)
        if self._active_turn.get() is turn:
            outer = turn.outer
            self._active_turn.set(outer if outer is not None and not outer.closed else None)

    def _register(self, turn: Turn) -> None:
        for displaced in self._turns.add(turn):
            displaced.close(unfinished_reason="too many open turns, or too old")

    def _turn_for(self, conversation_id: Any, agent_name: str | None = None, user_id: Any = None) -> Turn:
        """The open turn a call belongs to, or a detached (unregistered) one outside any turn."""
        cid = coerce_id(conversation_id)
        turn = self._find_turn(cid)
        if turn is not None:
            return turn
        cid = cid or current_conversation().conversation_id or "default"
        conversation = current_conversation().merged_with(
            ConversationContext(conversation_id=cid, user_id=coerce_id(user_id)))
        return Turn(cid, conversation, agent_name, root=None)

    def _park(self, turn: Turn) -> None:
        """Register a detached turn that now holds a pending call, so a later call can end it."""
        if turn not in self._turns:
            self._register(turn)
