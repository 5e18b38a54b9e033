"""The Agents Hub ``Agent`` hooks, turned into one trace per turn.

The Agent awaits these by keyword within one ``run()``: ``start_conversation`` opens the turn's
root span, LLM and tool calls open children that later calls end, ``track_assistant_message``
ends the turn. See ARCHITECTURE.md, "Agents Hub hooks -> traces".
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring.monitors.emit import emit_completed, open_handle
from agents_hub_monitoring.monitors.errors import record_error
from agents_hub_monitoring.monitors.imperative import tracked
from agents_hub_monitoring.monitors.operations import LLMCallHandle, ToolCallHandle
from agents_hub_monitoring.monitors.scope import Tracked
from agents_hub_monitoring.monitors.turn_state import TurnStateMixin
from agents_hub_monitoring.monitors.turns import Turn
from agents_hub_monitoring.serialization import coerce_float, coerce_id, dumps
from agents_hub_monitoring.telemetry.context import ConversationContext
from agents_hub_monitoring.telemetry.usage import LLMResult, read_llm_result

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["AgentsHubHooksMixin"]

_COMPLETION_KEYS = ("result", "output", "response", "output_tokens", "total_tokens", "cost",
                    "latency_ms", "duration_s")


class AgentsHubHooksMixin(TurnStateMixin):
    """``start_conversation`` ... ``track_error``: keyword-compatible with the Agents Hub Agent."""

    @tracked
    def start_conversation(self: BaseMonitor, conversation_id: Any = None, agent_name: str | None = None,  # type: ignore[misc]
                           user_id: Any = None, metadata: Mapping[str, Any] | None = None) -> str | None:
        """Open the turn's root span ``invoke_agent {agent}``; returns the conversation id."""
        cid = coerce_id(conversation_id) or str(uuid.uuid4())
        self._open_turn(cid, agent_name, user_id, metadata)
        return cid

    @tracked
    def end_conversation(self: BaseMonitor, conversation_id: Any = None, agent_name: str | None = None,  # type: ignore[misc]
                         user_id: Any = None, metadata: Mapping[str, Any] | None = None) -> str | None:
        turn = self._find_turn(coerce_id(conversation_id))
        if turn is not None:
            self._end_turn(turn, unfinished_reason="conversation ended")
        return None

    @tracked
    def track_user_message(self: BaseMonitor, message: Any, conversation_id: Any = None,  # type: ignore[misc]
                           agent_name: str | None = None, user_id: Any = None,
                           metadata: Mapping[str, Any] | None = None) -> str | None:
        cid = coerce_id(conversation_id)
        turn = self._find_turn(cid)
        if turn is None or turn.root is None:
            turn = self._open_turn(cid or str(uuid.uuid4()), agent_name, user_id, metadata)
        if turn.root is not None:
            turn.root.set_input(message)
            return turn.root.span_id
        return None

    @tracked
    def track_assistant_message(self: BaseMonitor, message: Any, conversation_id: Any = None,  # type: ignore[misc]
                                agent_name: str | None = None, user_id: Any = None,
                                metadata: Mapping[str, Any] | None = None) -> str | None:
        """Put the answer on the root and end the turn OK."""
        turn = self._find_turn(coerce_id(conversation_id))
        if turn is None or turn.root is None:
            spec = self._agent_spec(agent_name or "agent", context=_context(conversation_id, user_id, metadata))
            return emit_completed(self, spec, fill=lambda run: run.set_output(message))
        turn.root.set_output(message)
        turn.answered = True
        self._end_turn(turn)
        return turn.root.span_id

    @tracked
    def track_llm_call(self: BaseMonitor, provider: str | None = None, model: str | None = None,  # type: ignore[misc]
                       messages: Any = None, conversation_id: Any = None, agent_name: str | None = None,
                       user_id: Any = None, input_tokens: Any = None,
                       metadata: Mapping[str, Any] | None = None, **completion: Any) -> str | None:
        """Open ``chat {model}`` under the turn; ended by ``track_llm_result`` (or the turn's end).

        Given any of ``result``/``output``/``output_tokens``/``cost``/``latency_ms`` it records a
        finished call at once (the imperative use of the original API).
        """
        turn = self._turn_for(conversation_id, agent_name, user_id)
        spec = self._llm_spec(model, provider=provider, messages=messages)
        spec.conversation = turn.conversation
        if any(completion.get(key) is not None for key in _COMPLETION_KEYS):
            duration = coerce_float(completion.get("duration_s"))
            if duration is None and coerce_float(completion.get("latency_ms")) is not None:
                duration = coerce_float(completion["latency_ms"]) / 1000.0  # type: ignore[operator]
            return emit_completed(self, spec, parent=turn.root, duration_s=duration, fill=lambda call: _apply_result(
                call, completion.get("result", completion.get("output", completion.get("response"))),
                input_tokens, completion.get("output_tokens"), completion.get("cost")))
        call = open_handle(self, spec, turn.root)
        call.set_usage(input_tokens=input_tokens)
        turn.llm_calls.append(call)
        self._park(turn)
        return call.span_id

    @tracked
    def track_llm_result(self: BaseMonitor, provider: str | None = None, model: str | None = None,  # type: ignore[misc]
                         result: Any = None, conversation_id: Any = None, agent_name: str | None = None,
                         user_id: Any = None, input_tokens: Any = None, output_tokens: Any = None,
                         total_tokens: Any = None, cost: Any = None,
                         metadata: Mapping[str, Any] | None = None) -> str | None:
        """End the oldest open LLM call of the turn with model, usage, output and cost."""
        turn = self._turn_for(conversation_id, agent_name, user_id)
        if not turn.llm_calls:
            spec = self._llm_spec(model, provider=provider)
            spec.conversation = turn.conversation
            return emit_completed(self, spec, parent=turn.root,
                                  fill=lambda call: _apply_result(call, result, input_tokens, output_tokens, cost))
        call = turn.llm_calls.pop(0)
        _apply_result(call, result, input_tokens, output_tokens, cost)
        call.end()
        return call.span_id

    @tracked
    def track_tool_usage(self: BaseMonitor, tool_name: str, input_data: Any = None, output_data: Any = None,  # type: ignore[misc]
                         conversation_id: Any = None, agent_name: str | None = None, user_id: Any = None,
                         error: Any = None, metadata: Mapping[str, Any] | None = None) -> str | None:
        """First call (no output, no error) opens ``execute_tool {tool}``; the matching second ends it."""
        turn = self._turn_for(conversation_id, agent_name, user_id)
        arguments = dumps(input_data)
        starting = output_data is None and error is None
        pending = _pending_tool(turn, str(tool_name), arguments, completing=not starting)
        if starting and pending is None:
            spec = self._tool_spec(tool_name, arguments=input_data)
            spec.conversation = turn.conversation
            tool = open_handle(self, spec, turn.root)
            turn.tools.append(tool)
            turn.tool_arguments[id(tool)] = arguments
            self._park(turn)
            return tool.span_id
        if pending is None:
            spec = self._tool_spec(tool_name, arguments=input_data)
            spec.conversation = turn.conversation
            return emit_completed(self, spec, parent=turn.root,
                                  fill=lambda tool: _finish_tool(tool, output_data, error))
        turn.forget(pending)
        _finish_tool(pending, output_data, error)
        pending.end()
        return pending.span_id

    def track_error(self: BaseMonitor, error: BaseException | str, context: Mapping[str, Any] | None = None,  # type: ignore[misc]
                    conversation_id: Any = None, agent_name: str | None = None, user_id: Any = None,
                    metadata: Mapping[str, Any] | None = None) -> Tracked:
        """Mark the open child (or the current span) failed and count the error."""
        return record_error(self, error, context=context, conversation_id=conversation_id,
                            agent_name=agent_name, user_id=user_id, metadata=metadata)


def _context(conversation_id: Any, user_id: Any, metadata: Mapping[str, Any] | None) -> ConversationContext:
    return ConversationContext.from_mapping(
        {"conversation_id": conversation_id, "user_id": user_id, "metadata": metadata})


def _pending_tool(turn: Turn, tool_name: str, arguments: str, *, completing: bool) -> ToolCallHandle | None:
    """The open span this call refers to: same tool and arguments; a completing call (output or
    error given) falls back to the oldest open call of the tool. A starting call never does, so
    two calls of one tool with different arguments running side by side keep their own spans."""
    same_tool = [tool for tool in turn.tools if tool.tool_name == tool_name]
    for tool in same_tool:
        if turn.tool_arguments.get(id(tool)) == arguments:
            return tool
    return same_tool[0] if same_tool and completing else None


def _finish_tool(tool: ToolCallHandle, output: Any, error: Any) -> None:
    tool.set_result(output)
    if error:
        tool.record_error(error if isinstance(error, BaseException) else str(error))


def _parse_result(result: Any) -> LLMResult:
    """The Agents Hub ``LLMResponse.model_dump()`` keeps the provider's reply in ``raw_response``."""
    parsed = read_llm_result(result)
    raw = result.get("raw_response") if isinstance(result, Mapping) else None
    if raw is not None:
        provider_reply = read_llm_result(raw)
        if parsed.output is None:
            parsed.output = provider_reply.output
        for field in ("input_tokens", "output_tokens", "total_tokens", "cache_read_input_tokens",
                      "cache_creation_input_tokens", "reasoning_output_tokens", "response_model", "response_id"):
            if getattr(parsed, field) is None:
                setattr(parsed, field, getattr(provider_reply, field))
        parsed.finish_reasons = parsed.finish_reasons or provider_reply.finish_reasons
    return parsed


def _apply_result(call: LLMCallHandle, result: Any, input_tokens: Any, output_tokens: Any, cost: Any) -> None:
    parsed = _parse_result(result)
    call.set_usage(
        input_tokens=input_tokens if input_tokens is not None else parsed.input_tokens,
        output_tokens=output_tokens if output_tokens is not None else parsed.output_tokens,
        cache_read_input_tokens=parsed.cache_read_input_tokens,
        cache_creation_input_tokens=parsed.cache_creation_input_tokens,
        reasoning_output_tokens=parsed.reasoning_output_tokens)
    call.set_response(model=parsed.response_model, response_id=parsed.response_id,
                      finish_reasons=parsed.finish_reasons)
    call.set_output(parsed.output if parsed.output is not None else result)
    if cost is not None:
        call.set_cost(cost)
