"""Running each step of a traced iteration in the caller's context, with our span laid on top.

A decorated generator's body runs in whatever context its consumer is in, exactly like an
undecorated generator: a ``ContextVar`` it sets, or a span it opens around ``yield``, is seen by
the code that resumed it (``@contextmanager``, ``@asynccontextmanager``, FastAPI and pytest
yield-fixtures rely on this). Around each step (``next``/``send``/``throw``/``close``; an async
step until it completes) ``Overlay`` puts our span, and the conversation and agent name current
when the iteration started, on top of that context, and takes them off again before the value
reaches the consumer: our span is current in the body and never in the consumer's code.

What the body leaves behind is kept, minus our layer. A ``with`` block the body opened at one
step and closes some steps later resets its token to the value we laid on top at the first one;
``_Layer`` remembers those values, so the consumer then gets back what it had at that step.
Each step lays on top of the context current at that step, so resuming from another thread or
task works too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.context import attach, create_key, detach, get_current, set_value
from opentelemetry.trace import get_current_span, set_span_in_context

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.monitors.handles import current_agent_name
from agents_hub_monitoring.telemetry.context import _current as _conversation

__all__ = ["OWNER_KEY", "Overlay"]

# In the context of a class-instrumented method's call: (object, its span, monitor). See spans.reentrant.
OWNER_KEY = create_key("agents_hub.instrumented_object")
_MAX_REMEMBERED = 32  # laid-on values kept for a later unwind; more only with pathological resumption


class _Layer:
    """One context value laid on top for each step, and taken off after it."""

    __slots__ = ("_get", "_left", "_remembered", "_reset", "_set", "_value")

    def __init__(self, get: Callable[[], Any], set_: Callable[[Any], Any], reset: Callable[[Any], Any],
                 value: Any = None) -> None:
        self._get, self._set, self._reset, self._value = get, set_, reset, value
        # After a step whose changes the body kept: (what the consumer got, what the body had).
        self._left: tuple[Any, Any] | None = None
        # (value we laid on top, what the consumer had then), oldest first, for the body's later unwinds.
        self._remembered: list[tuple[Any, Any]] = []

    def inside(self, current: Any) -> Any:
        return self._value

    def outside(self, now: Any, before: Any) -> Any:
        """What the consumer sees of ``now``, a value the body left."""
        return now

    def enter(self) -> tuple[Any, Any, Any]:
        current = self._get()
        left = self._left
        # If the consumer did not move since the last step, the body goes on where it left off.
        inside = left[1] if left is not None and current is left[0] else self.inside(current)
        # Nothing laid when the value is already ours; leave() still tracks what the body does, since
        # a value the body sets now and resets later must not be confused with one we lay on top then.
        return current, inside, None if inside is current else self._set(inside)

    def leave(self, entered: tuple[Any, Any, Any]) -> None:
        current, inside, token = entered
        now = self._get()
        if now is inside:  # the usual case: no change kept by the body
            if token is not None:
                self._reset(token)
            return
        remembered = self._remembered
        for index in range(len(remembered) - 1, -1, -1):
            if remembered[index][0] is now:  # the body unwound to what we laid on at an earlier step
                outside = remembered[index][1]
                del remembered[index:]
                break
        else:
            if inside is not current:
                remembered.append((inside, current))
                if len(remembered) > _MAX_REMEMBERED:
                    del remembered[0]
            outside = self.outside(now, current)
        if outside is not now:
            self._set(outside)  # token dropped: set, not reset, so the consumer's own tokens stay valid
        self._left = (outside, now)


class _SpanLayer(_Layer):
    """The OTel context: our span as the current one, on top of whatever the step starts in."""

    __slots__ = ("_owner", "_span")

    def __init__(self, span: Any, owner: Any) -> None:
        super().__init__(get_current, attach, detach)
        self._span, self._owner = span, owner

    def inside(self, current: Any) -> Any:
        context = set_span_in_context(self._span, current)
        return context if self._owner is None else set_value(OWNER_KEY, self._owner, context)

    def outside(self, now: Any, before: Any) -> Any:
        # The body kept a change that still has our span current (baggage, say): hide our span.
        if get_current_span(now) is self._span:
            return set_span_in_context(get_current_span(before), now)
        return now


class Overlay:
    """Our span, conversation and agent name, laid on top of the caller's context for each step."""

    __slots__ = ("_agent", "_agent_name", "_conversation", "_conversation_value", "_span")

    def __init__(self, span: Any, agent_name: str | None, owner: Any = None) -> None:
        self._conversation_value = _conversation.get()
        self._agent_name = agent_name if agent_name is not None else current_agent_name.get()
        self._conversation = _Layer(_conversation.get, _conversation.set, _conversation.reset,
                                    self._conversation_value)
        self._agent = _Layer(current_agent_name.get, current_agent_name.set, current_agent_name.reset,
                             self._agent_name)
        self._span = _SpanLayer(span, owner)

    def enter(self) -> tuple[Any, Any, Any] | None:
        """Before a step: returns what ``leave`` needs."""
        try:
            # The conversation and agent name are usually ours already and the body leaves them alone:
            # then there is nothing to lay on, and leave() only checks that they did not change (None).
            conversation, agent = self._conversation, self._agent
            entered_conversation = None if conversation._left is None and \
                _conversation.get() is self._conversation_value else conversation.enter()
            entered_agent = None if agent._left is None and current_agent_name.get() is self._agent_name \
                else agent.enter()
            return entered_conversation, entered_agent, self._span.enter()
        except Exception as error:
            report_internal_failure("generator step context", error)
            return None

    def leave(self, entered: tuple[Any, Any, Any] | None) -> None:
        """After a step, before its value (or exception) reaches the consumer."""
        if entered is None:
            return
        try:
            entered_conversation, entered_agent, entered_span = entered
            self._span.leave(entered_span)
            if entered_agent is not None:
                self._agent.leave(entered_agent)
            elif current_agent_name.get() is not self._agent_name:  # the body changed it and kept it
                self._agent.leave((self._agent_name, self._agent_name, None))
            if entered_conversation is not None:
                self._conversation.leave(entered_conversation)
            elif _conversation.get() is not self._conversation_value:
                self._conversation.leave((self._conversation_value, self._conversation_value, None))
        except Exception as error:
            report_internal_failure("generator step context", error)
