"""Combining monitors: each span is created once and delivered to every monitor's pipeline.

``CompositeMonitor(ConsoleMonitor(), LangfuseMonitor())`` starts spans on its own provider and
hands each started/ended span to the span processors of every child monitor, so each child
applies its own processors, privacy rules and exporters to the same span (one trace id
everywhere). Metrics are recorded on every child's instruments, and scores reach every child's
scores API.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.monitors.base import BaseMonitor
from agents_hub_monitoring.monitors.scope import Tracked

__all__ = ["CompositeMonitor", "combine"]


class _ChildPipeline(SpanProcessor):
    """Feeds spans into a child monitor's own processors (stamping, translation, export)."""

    # The child's own processors finish what spans get at their end, where they need it.
    reads_end_attributes = False

    def __init__(self, child: BaseMonitor) -> None:
        # The SDK keeps a provider's processors in one multi-processor; it is what a span of
        # that provider would call, so our spans get exactly the same treatment.
        self._processors: SpanProcessor = child.tracer_provider._active_span_processor

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._processors.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._processors.on_end(span)

    def shutdown(self) -> None:
        return None  # each child shuts its own pipeline down

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._processors.force_flush(timeout_millis))


class _FanoutInstruments:
    """Looks like ``Instruments``; each ``record_*`` call goes to every child's instruments."""

    def __init__(self, children: list[Any]) -> None:
        self._children = children

    def __getattr__(self, name: str) -> Callable[..., None]:
        targets = [getattr(child, name) for child in self._children]

        def record(*args: Any, **kwargs: Any) -> None:
            for target in targets:
                try:
                    target(*args, **kwargs)
                except Exception as error:
                    report_internal_failure(f"composite {name}", error)

        return record


_HOOKS = ("start_conversation", "end_conversation", "track_user_message", "track_assistant_message",
          "track_llm_call", "track_llm_result", "track_tool_usage", "track_error", "track_custom_event",
          "track_event", "track_agent_run", "track_moderation_event", "score_conversation", "add_user_feedback")


def _user_override(child: BaseMonitor, name: str) -> Callable[..., Any] | None:
    """A child's own ``track_*`` hook (a custom monitor's), not one of this package's."""
    method = getattr(type(child), name, None)
    if method is None or method is getattr(BaseMonitor, name):
        return None
    return None if method.__module__.startswith("agents_hub_monitoring.") else method


def _forwarding(name: str) -> Callable[..., Any]:
    own = getattr(BaseMonitor, name)

    def hook(self: CompositeMonitor, *args: Any, **kwargs: Any) -> Any:
        result = own(self, *args, **kwargs)  # the spans, once, for every member's pipeline
        pending = []
        for child in self.monitors:
            override = _user_override(child, name)
            if override is None:
                continue
            try:
                value = override(child, *args, **kwargs)
                if inspect.isawaitable(value) and not isinstance(value, Tracked):
                    pending.append(value)
            except Exception as error:
                report_internal_failure(f"{type(child).__name__}.{name}", error)
        return Tracked(result.id, pending) if pending else result

    hook.__name__ = hook.__qualname__ = name
    hook.__doc__ = own.__doc__
    return hook


class CompositeMonitor(BaseMonitor):
    """Several monitors behind one facade. Use it exactly like any monitor.

    Spans are created once, on the composite's provider (its resource and sampler apply), and
    every member's pipeline receives them. A member's own ``track_*`` overrides (a custom
    monitor's) are called too, with the same arguments.
    """

    def __init__(self, *monitors: BaseMonitor, name: str = "composite", **kwargs: Any) -> None:
        if not monitors or not all(isinstance(m, BaseMonitor) for m in monitors):
            raise ValueError("CompositeMonitor needs one or more BaseMonitor instances")
        self.monitors = tuple(monitors)
        processors = [_ChildPipeline(child) for child in self.monitors]
        super().__init__(name, span_processors=[*processors, *kwargs.pop("span_processors", ())], **kwargs)
        self._instruments = _FanoutInstruments([child._instruments for child in self.monitors])  # type: ignore[assignment]

    def _submit_score(self, *, name: str, value: float | str, data_type: str, comment: str | None,
                      conversation_id: str, metadata: Mapping[str, Any] | None) -> str | None:
        """Every child gets the score; the first backend score id (e.g. Langfuse's) is the result."""
        score_id = None
        for child in self.monitors:
            try:
                child_id = child._submit_score(name=name, value=value, data_type=data_type, comment=comment,
                                               conversation_id=conversation_id, metadata=metadata)
                score_id = score_id or child_id
            except Exception as error:
                report_internal_failure("composite score", error)
        return score_id

    def flush(self, timeout_s: float | None = None) -> bool:
        flushed = super().flush(timeout_s)
        return all([child.flush(timeout_s) for child in self.monitors]) and flushed

    def _before_shutdown(self) -> None:
        self._pipeline.flush()
        for child in self.monitors:
            child.shutdown()

    def __repr__(self) -> str:
        return f"CompositeMonitor({', '.join(repr(child) for child in self.monitors)})"


for _name in _HOOKS:
    setattr(CompositeMonitor, _name, _forwarding(_name))


def combine(*monitors: BaseMonitor, **kwargs: Any) -> CompositeMonitor:
    """``combine(console, langfuse)``: one facade that feeds every monitor."""
    return CompositeMonitor(*monitors, **kwargs)
