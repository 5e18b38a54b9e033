"""The one place that builds OpenTelemetry SDK objects.

A monitor hands its settings here and gets back its own TracerProvider and MeterProvider. The
global providers are left alone unless ``set_global=True``, so a host application with its own
OTel setup keeps its pipeline and never receives our spans (nor we its spans).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from agents_hub_monitoring._version import __version__
from agents_hub_monitoring.exporters.resilient import (
    DEFAULT_SHUTDOWN_TIMEOUT_S,
    ExportStats,
    FanoutSpanExporter,
    ResilientMetricExporter,
    ResilientSpanExporter,
    call_with_deadline,
    run_with_deadline,
)
from agents_hub_monitoring.exporters.scrubbing import ScrubbingSpanExporter
from agents_hub_monitoring.privacy import PrivacySettings, Scrubber
from agents_hub_monitoring.telemetry import semconv
from agents_hub_monitoring.telemetry.processors import ConversationStampingProcessor, GuardedSpanProcessor

__all__ = ["INSTRUMENTATION_SCOPE", "PipelineSettings", "TelemetryPipeline", "exports_synchronously"]

INSTRUMENTATION_SCOPE = "agents_hub_monitoring"
DEFAULT_SERVICE_NAME = "agents-hub-agent"


def exports_synchronously(exporter: SpanExporter) -> bool:
    """Exporters that want each span as it ends (console trees, in-memory test exporters)."""
    return bool(getattr(exporter, "agents_hub_synchronous", False))


@dataclass(frozen=True)
class PipelineSettings:
    """What a monitor asks of the SDK pipeline; validated at construction."""

    service_name: str | None = None
    release: str | None = None
    environment: str | None = None
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    span_exporters: Sequence[SpanExporter] = ()
    metric_exporters: Sequence[MetricExporter] = ()
    metric_readers: Sequence[MetricReader] = ()
    span_processors: Sequence[SpanProcessor] = ()
    batch: bool = True
    metric_export_interval_ms: float | None = None
    sample_rate: float | None = None
    set_global: bool = False
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.sample_rate is not None and not 0.0 <= float(self.sample_rate) <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, got {self.sample_rate!r}")
        if self.shutdown_timeout_s <= 0:
            raise ValueError(f"shutdown_timeout_s must be positive, got {self.shutdown_timeout_s!r}")
        if self.metric_export_interval_ms is not None and self.metric_export_interval_ms <= 0:
            raise ValueError("metric_export_interval_ms must be positive")
        for exporter in self.span_exporters:
            if not isinstance(exporter, SpanExporter):
                raise ValueError(f"span exporter {exporter!r} is not an OpenTelemetry SpanExporter")
        for exporter in self.metric_exporters:
            if not isinstance(exporter, MetricExporter):
                raise ValueError(f"metric exporter {exporter!r} is not an OpenTelemetry MetricExporter")


def build_resource(settings: PipelineSettings) -> Resource:
    """Resource from settings over ``OTEL_RESOURCE_ATTRIBUTES`` / ``OTEL_SERVICE_NAME``."""
    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name:
        attributes["service.name"] = settings.service_name
    if settings.release:
        attributes["service.version"] = settings.release
    if settings.environment:
        attributes[semconv.DEPLOYMENT_ENVIRONMENT] = settings.environment
    attributes.setdefault("telemetry.distro.name", INSTRUMENTATION_SCOPE)
    attributes.setdefault("telemetry.distro.version", __version__)
    resource = Resource.create(attributes)  # applies OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": DEFAULT_SERVICE_NAME}))
    return resource


class TelemetryPipeline:
    """Owns one TracerProvider and one MeterProvider, built from ``PipelineSettings``."""

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self.resource = build_resource(settings)
        self.span_exporters = [ResilientSpanExporter(e, shutdown_timeout_s=settings.shutdown_timeout_s)
                               for e in settings.span_exporters]
        self.metric_exporters = [ResilientMetricExporter(e, shutdown_timeout_s=settings.shutdown_timeout_s)
                                 for e in settings.metric_exporters]
        self.scrubber = Scrubber(settings.privacy)
        self.tracer_provider = self._build_tracer_provider()
        self.meter_provider = self._build_meter_provider()
        self.tracer = self.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
        self.meter = self.meter_provider.get_meter(INSTRUMENTATION_SCOPE, __version__)
        self._shut_down = False
        if settings.set_global:
            trace.set_tracer_provider(self.tracer_provider)
            metrics.set_meter_provider(self.meter_provider)

    def _build_tracer_provider(self) -> TracerProvider:
        sampler = None
        if self.settings.sample_rate is not None:
            sampler = ParentBased(TraceIdRatioBased(float(self.settings.sample_rate)))
        # Our monitor shuts its providers down at exit (bounded); the SDK's own exit hooks would
        # shut them down a second time and log about it.
        provider = TracerProvider(resource=self.resource, sampler=sampler, shutdown_on_exit=False)
        provider.add_span_processor(ConversationStampingProcessor())
        for processor in self.settings.span_processors:
            provider.add_span_processor(GuardedSpanProcessor(processor))
        synchronous = [e for e in self.span_exporters if not self.settings.batch or exports_synchronously(e.inner)]
        batched = [e for e in self.span_exporters if e not in synchronous]
        if synchronous:
            provider.add_span_processor(SimpleSpanProcessor(self._scrubbed(synchronous)))
        if batched:
            provider.add_span_processor(BatchSpanProcessor(self._scrubbed(batched)))
        return provider

    def _scrubbed(self, exporters: list[ResilientSpanExporter]) -> SpanExporter:
        # Scrubbing sits in front of the fan-out: it runs once per span, off the calling thread
        # when batched, and every backend receives the same redacted data.
        inner: SpanExporter = exporters[0] if len(exporters) == 1 else FanoutSpanExporter(exporters)
        return ScrubbingSpanExporter(inner, self.scrubber)

    def _build_meter_provider(self) -> MeterProvider:
        readers: list[MetricReader] = list(self.settings.metric_readers)
        for exporter in self.metric_exporters:
            readers.append(PeriodicExportingMetricReader(
                exporter, export_interval_millis=self.settings.metric_export_interval_ms))
        # Measurements are recorded later, on the replay thread (telemetry/deferred.py), where no span
        # is current: the SDK's default trace-based filter would check for one on every record in vain.
        # OTEL_METRICS_EXEMPLAR_FILTER, when set, is the SDK's to apply.
        exemplar_filter = None if os.environ.get("OTEL_METRICS_EXEMPLAR_FILTER") else AlwaysOffExemplarFilter()
        return MeterProvider(resource=self.resource, metric_readers=readers, shutdown_on_exit=False,
                             exemplar_filter=exemplar_filter)

    @property
    def export_stats(self) -> list[ExportStats]:
        return [e.stats for e in self.span_exporters] + [e.stats for e in self.metric_exporters]

    def flush(self, timeout_s: float | None = None) -> bool:
        """Export everything pending; bounded so a dead backend cannot hang the caller."""
        timeout = timeout_s or self.settings.shutdown_timeout_s
        timeout_ms = int(timeout * 1000)
        outcome: list[bool] = []

        def flush_both() -> None:
            outcome.append(bool(self.tracer_provider.force_flush(timeout_ms)
                                and self.meter_provider.force_flush(timeout_ms)))

        # The batch processor exports on the caller's thread during force_flush and its timeout
        # does not bound the exporter's retries: run it where we can stop waiting.
        finished = call_with_deadline("flush", flush_both, timeout)
        return finished and all(outcome)

    def shutdown(self) -> None:
        """Flush and stop both providers, side by side; returns within ``shutdown_timeout_s``."""
        if self._shut_down:
            return
        self._shut_down = True
        timeout = self.settings.shutdown_timeout_s
        run_with_deadline({
            "tracer_provider.shutdown": self.tracer_provider.shutdown,
            "meter_provider.shutdown": lambda: self.meter_provider.shutdown(timeout_millis=timeout * 1000),
        }, timeout)
