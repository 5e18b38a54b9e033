"""The original module's imperative API: events, errors, agent runs, moderation, scores, feedback.

Each call does its work before returning and returns a ``Tracked`` (awaitable, as the original
async API was). None of them raises into the caller, except a score or feedback value that is
invalid, which is the caller's bug and gets a clear ``ValueError``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.monitors.emit import emit_completed
from agents_hub_monitoring.monitors.handles import SpanHandle, attribute_value, error_type_of
from agents_hub_monitoring.monitors.scope import OperationSpec, Tracked
from agents_hub_monitoring.serialization import coerce_float, coerce_id
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.context import ConversationContext, current_conversation

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["ImperativeApiMixin", "tracked", "validate_score_value"]


def tracked(function: Callable[..., str | None]) -> Callable[..., Tracked]:
    """Wrap a ``track_*`` implementation: result as ``Tracked``, internal failures swallowed."""

    @functools.wraps(function)
    def call(self: Any, *args: Any, **kwargs: Any) -> Tracked:
        if self._closed:  # after shutdown nothing is recorded (and nothing is logged per call)
            return Tracked(None)
        try:
            return Tracked(function(self, *args, **kwargs))
        except Exception as error:
            report_internal_failure(function.__name__, error)
            return Tracked(None)

    return call


def validate_score_value(value: Any, data_type: str | None = None) -> tuple[float | str, str]:
    """(value, dataType) per Langfuse's rules: NUMERIC number, BOOLEAN 0/1, CATEGORICAL string."""
    if data_type is not None and data_type not in ("NUMERIC", "BOOLEAN", "CATEGORICAL"):
        raise ValueError(f"data_type must be NUMERIC, BOOLEAN or CATEGORICAL, got {data_type!r}")
    if isinstance(value, bool) or data_type == "BOOLEAN":
        if value not in (0, 1, True, False):
            raise ValueError(f"a BOOLEAN score must be 0 or 1 (or a bool), got {value!r}")
        return float(bool(value)), "BOOLEAN"
    if isinstance(value, str):
        if data_type not in (None, "CATEGORICAL"):
            raise ValueError(f"a {data_type} score needs a number, got the string {value!r}")
        if not value:
            raise ValueError("a CATEGORICAL score needs a non-empty string")
        return value, "CATEGORICAL"
    if isinstance(value, (int, float)) and math.isfinite(value):
        if data_type == "CATEGORICAL":
            raise ValueError(f"a CATEGORICAL score needs a string, got {value!r}")
        return float(value), "NUMERIC"
    raise ValueError(f"a score value must be a finite number, a bool or a string, got {value!r}")


def _conversation(conversation_id: Any = None, user_id: Any = None, session_id: Any = None,
                  metadata: Mapping[str, Any] | None = None) -> ConversationContext:
    return ConversationContext.from_mapping({"conversation_id": conversation_id, "user_id": user_id,
                                             "session_id": session_id, "metadata": metadata})


class ImperativeApiMixin:
    """``track_event``, ``track_error``, ``track_agent_run``, ``score_conversation`` and friends."""

    def _turn_root(self: BaseMonitor, conversation_id: str | None) -> SpanHandle | None:  # type: ignore[misc]
        turn = self._find_turn(conversation_id)
        return turn.root if turn is not None else None

    @tracked
    def track_event(self: BaseMonitor, name: str, properties: Any = None, *, conversation_id: Any = None,  # type: ignore[misc]
                    agent_name: str | None = None, user_id: Any = None,
                    metadata: Mapping[str, Any] | None = None) -> str | None:
        """A custom event: a zero-length span (visible in every backend) plus a span event."""
        name = str(name) if name else "event"
        attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_EVENT, sc.EVENT_NAME: name}
        content = self._content(properties)
        if content is not None:
            attributes[sc.EVENT_PROPERTIES] = content
        if agent_name:
            attributes[sc.GEN_AI_AGENT_NAME] = str(agent_name)
        current = trace.get_current_span()
        if current.is_recording():
            current.add_event(name, {k: v for k, v in attributes.items()
                                     if k not in (sc.GEN_AI_AGENT_NAME, sc.GEN_AI_OPERATION_NAME)})
        self._instruments.record_event(name)
        conversation = _conversation(conversation_id, user_id, metadata=metadata)
        spec = OperationSpec(name, SpanKind.INTERNAL, attributes, lambda span: SpanHandle(span, self),
                             conversation=conversation)
        return emit_completed(self, spec, parent=self._turn_root(conversation.conversation_id))

    def track_custom_event(self, event_name: str, data: Any = None, conversation_id: Any = None,
                           agent_name: str | None = None, user_id: Any = None,
                           metadata: Mapping[str, Any] | None = None) -> Tracked:
        """The Agents Hub hook name for :meth:`track_event`."""
        return self.track_event(event_name, data, conversation_id=conversation_id,  # type: ignore[attr-defined]
                                agent_name=agent_name, user_id=user_id, metadata=metadata)

    @tracked
    def track_agent_run(self: BaseMonitor, agent_name: str | None = None, input: Any = None,  # type: ignore[misc]
                        output: Any = None, *, duration_s: float | None = None, latency_ms: float | None = None,
                        error: BaseException | str | None = None, success: bool | None = None,
                        model: str | None = None, context: Mapping[str, Any] | None = None,
                        conversation_id: Any = None, user_id: Any = None, session_id: Any = None,
                        metadata: Mapping[str, Any] | None = None, **attributes: Any) -> str | None:
        """An agent run that already finished, reported after the fact."""
        conversation = ConversationContext.from_mapping(context).merged_with(
            _conversation(conversation_id, user_id, session_id, metadata))
        spec = self._agent_spec(agent_name or "agent", context=conversation, input=input, model=model,
                                attributes=attributes)
        if latency_ms is not None and duration_s is None:
            duration_s = (coerce_float(latency_ms) or 0.0) / 1000.0
        failure = error if error is not None else ("agent run failed" if success is False else None)

        def fill(run: Any) -> None:
            run.set_output(output)
            if failure is not None:
                run.record_error(failure)
        return emit_completed(self, spec, duration_s=coerce_float(duration_s), fill=fill)

    @tracked
    def track_moderation_event(self: BaseMonitor, category: str | None = None, action: str | None = None,  # type: ignore[misc]
                               flagged: bool = True, content: Any = None, *, component: str = "moderation",
                               categories: tuple[str, ...] | list[str] = (), score: float | None = None,
                               conversation_id: Any = None, user_id: Any = None,
                               metadata: Mapping[str, Any] | None = None) -> str | None:
        """A moderation check that already happened (flagged by default: it is an event)."""
        conversation = _conversation(conversation_id, user_id, metadata=metadata)
        spec = self._moderation_spec(component, input=content)
        spec.conversation = conversation
        return emit_completed(
            self, spec, parent=self._turn_root(conversation.conversation_id),
            fill=lambda check: check.set_result(flagged, category=category, categories=tuple(categories),
                                                action=action, score=score))

    def _evaluation_spec(self: BaseMonitor, name: str, value: float | str, data_type: str,  # type: ignore[misc]
                         comment: str | None, kind: str, conversation_id: str | None) -> OperationSpec[Any]:
        attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_EVALUATION,
                                      sc.GEN_AI_EVALUATION_NAME: name, sc.EVALUATION_KIND: kind}
        if isinstance(value, str):
            attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] = value
        else:
            attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] = value
        if comment:
            attributes[sc.GEN_AI_EVALUATION_EXPLANATION] = attribute_value(comment)
        return OperationSpec(f"evaluation {name}", SpanKind.INTERNAL, attributes,
                             lambda span: SpanHandle(span, self),
                             conversation=ConversationContext(conversation_id=conversation_id))

    def score_conversation(self: BaseMonitor, conversation_id: Any, name: str, value: Any,  # type: ignore[misc]
                           comment: str | None = None, *, data_type: str | None = None,
                           metadata: Mapping[str, Any] | None = None) -> Tracked:
        """Score a whole conversation. An invalid value raises ``ValueError`` here, at the call."""
        if not name or not isinstance(name, str):
            raise ValueError("a score needs a non-empty name")
        conversation = coerce_id(conversation_id) or current_conversation().conversation_id
        if conversation is None:
            raise ValueError("score_conversation needs a conversation_id")
        clean, data_type = validate_score_value(value, data_type)
        return self._record_score(name=name, value=clean, data_type=data_type, comment=comment,
                                  kind="score", conversation_id=conversation, metadata=metadata)

    def add_user_feedback(self: BaseMonitor, conversation_id: Any, score: Any, comment: str | None = None, *,  # type: ignore[misc]
                          name: str = "user_feedback", metadata: Mapping[str, Any] | None = None) -> Tracked:
        """User feedback on a 1-5 scale: a score, and the user-satisfaction metric."""
        value = coerce_float(score) if not isinstance(score, bool) else None
        if value is None or not 1.0 <= value <= 5.0:
            raise ValueError(f"user feedback is on a 1-5 scale, got {score!r}")
        conversation = coerce_id(conversation_id) or current_conversation().conversation_id
        if conversation is None:
            raise ValueError("add_user_feedback needs a conversation_id")
        result = self._record_score(name=name, value=value, data_type="NUMERIC", comment=comment,
                                    kind="feedback", conversation_id=conversation, metadata=metadata)
        try:
            self._instruments.record_satisfaction(value)
        except Exception as error:
            report_internal_failure("add_user_feedback", error)
        return result

    @tracked
    def _record_score(self: BaseMonitor, *, name: str, value: float | str, data_type: str,  # type: ignore[misc]
                      comment: str | None, kind: str, conversation_id: str,
                      metadata: Mapping[str, Any] | None) -> str | None:
        if not isinstance(value, str):
            self._instruments.record_evaluation(name=name, value=value, kind=kind)
        spec = self._evaluation_spec(name, value, data_type, comment, kind, conversation_id)
        span_id = emit_completed(self, spec, parent=self._turn_root(conversation_id))
        score_id = self._submit_score(name=name, value=value, data_type=data_type, comment=comment,
                                      conversation_id=conversation_id, metadata=metadata)
        return score_id or span_id  # the backend's score id when there is one, else the marker span's

    def _submit_score(self, *, name: str, value: float | str, data_type: str, comment: str | None,
                      conversation_id: str, metadata: Mapping[str, Any] | None) -> str | None:
        """Backends with a scores API (Langfuse) send the score here and return its id; the base has none."""
        return None

    def _record_error_metric(self: BaseMonitor, error: BaseException | str, agent_name: str | None) -> None:  # type: ignore[misc]
        self._instruments.record_error(error_type_of(error), agent_name)
