"""BaseMonitor: the facade users meet. Spans through the OTel API, metrics through instruments.

The span context managers live here; the imperative ``track_*`` API and the Agents Hub hooks
come from mixins in ``imperative.py`` and ``hooks.py``.
"""

from __future__ import annotations

import atexit
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import SpanKind, Tracer

from agents_hub_monitoring._safety import never_raise
from agents_hub_monitoring.instrument.decorators import DecoratorsMixin
from agents_hub_monitoring.monitors.hooks import AgentsHubHooksMixin
from agents_hub_monitoring.monitors.imperative import ImperativeApiMixin
from agents_hub_monitoring.monitors.integrations import SdkIntegrationsMixin
from agents_hub_monitoring.monitors.operations import (
    AgentRunHandle,
    LLMCallHandle,
    MemoryHandle,
    ModerationHandle,
    ToolCallHandle,
)
from agents_hub_monitoring.monitors.scope import OperationSpec, SpanScope
from agents_hub_monitoring.monitors.specs import OperationSpecs
from agents_hub_monitoring.pricing import ModelPrice, PriceCalculator
from agents_hub_monitoring.privacy import PrivacySettings, resolve_capture_content
from agents_hub_monitoring.serialization import dumps
from agents_hub_monitoring.telemetry.context import ConversationContext, bind_conversation
from agents_hub_monitoring.telemetry.deferred import DeferredInstruments
from agents_hub_monitoring.telemetry.instruments import Instruments
from agents_hub_monitoring.telemetry.pipeline import PipelineSettings, TelemetryPipeline

__all__ = ["BaseMonitor"]


class BaseMonitor(OperationSpecs, ImperativeApiMixin, AgentsHubHooksMixin, DecoratorsMixin, SdkIntegrationsMixin):
    """A monitor with its own OTel providers, feeding the given exporters and readers.

    Subclass it and override ``track_*`` hooks, or pass any OTel ``SpanExporter`` /
    ``MetricExporter``. Secrets given to a monitor never appear in its ``repr``.
    """

    def __init__(
        self,
        name: str = "agents_hub_monitoring",
        *,
        exporters: Sequence[SpanExporter] = (),
        metric_exporters: Sequence[MetricExporter] = (),
        metric_readers: Sequence[MetricReader] = (),
        span_processors: Sequence[SpanProcessor] = (),
        service_name: str | None = None,
        release: str | None = None,
        environment: str | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        privacy: PrivacySettings | None = None,
        capture_content: bool | None = None,
        prices: Mapping[str, ModelPrice | Mapping[str, float]] | None = None,
        sample_rate: float | None = None,
        batch: bool = True,
        metric_export_interval_ms: float | None = None,
        set_global: bool = False,
        shutdown_timeout_s: float = 5.0,
        max_open_turns: int = 1000,
        max_turn_age_s: float = 3600.0,
    ) -> None:
        self._closed = False
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        # The capture_content argument, then OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
        # when set, then the privacy settings decide whether prompts and completions are kept.
        privacy = resolve_capture_content(privacy, capture_content)
        self.name = name
        self.privacy = privacy
        self.capture_content = privacy.capture_content
        self._content_limit = privacy.max_content_chars
        self._pricing = PriceCalculator(overrides=prices)
        self._pipeline = TelemetryPipeline(PipelineSettings(
            service_name=service_name, release=release, environment=environment,
            resource_attributes=dict(resource_attributes or {}), span_exporters=tuple(exporters),
            metric_exporters=tuple(metric_exporters), metric_readers=tuple(metric_readers),
            span_processors=tuple(span_processors), batch=batch,
            metric_export_interval_ms=metric_export_interval_ms, sample_rate=sample_rate,
            set_global=set_global, privacy=privacy, shutdown_timeout_s=shutdown_timeout_s))
        self._tracer: Tracer = self._pipeline.tracer
        # Metrics are queued and recorded off the calling thread (instrument/deferred.py).
        self._instruments = DeferredInstruments(
            Instruments(self._pipeline.meter, health=lambda: self._pipeline.export_stats), self._pipeline.meter)
        self._init_hooks(max_open_turns=max_open_turns, max_turn_age_s=max_turn_age_s)
        _register_exit_flush(self)

    # -- the pipeline ----------------------------------------------------------------------------------
    @property
    def tracer_provider(self) -> Any:
        return self._pipeline.tracer_provider

    @property
    def meter_provider(self) -> Any:
        return self._pipeline.meter_provider

    @property
    def tracer(self) -> Tracer:
        return self._tracer

    @property
    def export_stats(self) -> list[Any]:
        """Per exporter: spans exported and failed (also exported as health metrics)."""
        return self._pipeline.export_stats

    def _content(self, value: Any) -> str | None:
        """Serialised content for a span, or None when content capture is off."""
        if not self.capture_content or value is None:
            return None
        return dumps(value, limit=self._content_limit)

    # -- span context managers (sync and async) --------------------------------------------------------
    def agent_run(self, name: str, *, context: Mapping[str, Any] | ConversationContext | None = None,
                  input: Any = None, model: str | None = None, agent_id: str | None = None,
                  attributes: Mapping[str, Any] | None = None) -> SpanScope[AgentRunHandle]:
        """An agent run: ``with monitor.agent_run("planner", context={...}) as run:``."""
        return SpanScope(self, self._agent_spec(name, context=context, input=input, model=model,
                                                agent_id=agent_id, attributes=attributes))

    def llm_call(self, model: str | None = None, *, provider: str | None = None, messages: Any = None,
                 system: Any = None, parameters: Mapping[str, Any] | None = None, operation: str = "chat",
                 attributes: Mapping[str, Any] | None = None) -> SpanScope[LLMCallHandle]:
        """An LLM call; set usage and output on the handle, cost is computed at its end."""
        return SpanScope(self, self._llm_spec(model, provider=provider, messages=messages, system=system,
                                              parameters=parameters, operation=operation, attributes=attributes))

    def tool_call(self, name: str, *, arguments: Any = None, call_id: str | None = None,
                  tool_type: str = "function", attributes: Mapping[str, Any] | None = None
                  ) -> SpanScope[ToolCallHandle]:
        return SpanScope(self, self._tool_spec(name, arguments=arguments, call_id=call_id,
                                               tool_type=tool_type, attributes=attributes))

    # retrieval(source, *, query, attributes) comes from DecoratorsMixin: a span context manager
    # that is also the @monitor.retrieval decorator.

    def memory_operation(self, operation: str = "search_memory", *, store: str | None = None,
                         input: Any = None, attributes: Mapping[str, Any] | None = None
                         ) -> SpanScope[MemoryHandle]:
        return SpanScope(self, self._memory_spec(operation, store=store, input=input, attributes=attributes))

    def moderation_check(self, component: str = "moderation", *, input: Any = None,
                         attributes: Mapping[str, Any] | None = None) -> SpanScope[ModerationHandle]:
        return SpanScope(self, self._moderation_spec(component, input=input, attributes=attributes))

    def span(self, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
             attributes: Mapping[str, Any] | None = None) -> SpanScope[Any]:
        """A plain span for any other step, with the same error handling."""
        return SpanScope(self, self._plain_spec(name, kind=kind, attributes=attributes))

    def start(self, spec: OperationSpec[Any]) -> SpanScope[Any]:
        """Open a scope from a prepared spec (used by decorators and integrations)."""
        return SpanScope(self, spec)

    @contextmanager
    def _conversation_cm(self, context: ConversationContext) -> Iterator[ConversationContext]:
        with bind_conversation(context) as bound:
            yield bound

    def conversation(self, conversation_id: Any = None, *, user_id: Any = None, session_id: Any = None,
                     tags: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None) -> Any:
        """Bind a conversation for a block; every span started inside carries it."""
        context = ConversationContext.from_mapping({
            "conversation_id": conversation_id, "user_id": user_id, "session_id": session_id,
            "tags": tags, "metadata": metadata})
        return _SyncAsync(self._conversation_cm(context))

    # -- lifecycle -------------------------------------------------------------------------------------
    @never_raise("flush", default=False)
    def flush(self, timeout_s: float | None = None) -> bool:
        """Close unfinished turns and export everything pending (bounded by ``timeout_s``)."""
        self._close_open_turns(reason="flush")
        return self._pipeline.flush(timeout_s)

    @never_raise("shutdown")
    def shutdown(self) -> None:
        """Flush and stop; returns within a bounded time even when a backend is down."""
        if self._closed:
            return
        self._closed = True
        self._close_open_turns(reason="shutdown")
        self._before_shutdown()
        self._pipeline.shutdown()

    def _before_shutdown(self) -> None:
        """Subclasses drain their own queues (scores, summaries) here."""

    def __enter__(self) -> BaseMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    async def __aenter__(self) -> BaseMonitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        exporters = ", ".join(stats.name for stats in self._pipeline.export_stats)
        return f"{type(self).__name__}(name={self.name!r}, exporters=[{exporters}])"


class _SyncAsync:
    """Lets one context manager be used with ``with`` and ``async with``."""

    __slots__ = ("_cm",)

    def __init__(self, cm: Any) -> None:
        self._cm = cm

    def __enter__(self) -> Any:
        return self._cm.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._cm.__exit__(*exc)

    async def __aenter__(self) -> Any:
        return self._cm.__enter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return self._cm.__exit__(*exc)


def _register_exit_flush(monitor: BaseMonitor) -> None:
    """Shut the monitor down at interpreter exit without keeping it alive until then."""
    reference = weakref.ref(monitor)

    def shutdown_at_exit() -> None:
        target = reference()
        if target is not None:
            target.shutdown()

    atexit.register(shutdown_at_exit)
