"""OTLPMonitor: spans and metrics to an OpenTelemetry Collector or any OTLP backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.trace.export import SpanExporter

from agents_hub_monitoring.exporters.otlp import OTLPSettings, build_otlp_exporters, parse_headers, redact_url
from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["OTLPMonitor"]


class OTLPMonitor(BaseMonitor):
    """Send to ``endpoint`` (base URL, e.g. ``http://localhost:4318``; gRPC: ``http://localhost:4317``).

    Unset arguments come from the standard variables: ``OTEL_EXPORTER_OTLP_ENDPOINT``,
    ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_EXPORTER_OTLP_PROTOCOL``, ``OTEL_EXPORTER_OTLP_TIMEOUT``,
    ``OTEL_EXPORTER_OTLP_COMPRESSION`` and their ``_TRACES_`` / ``_METRICS_`` forms. Pass
    ``export_metrics=False`` for backends that take spans only (Langfuse, Phoenix).
    """

    def __init__(self, endpoint: str | None = None, headers: Mapping[str, str] | str | None = None,
                 protocol: str | None = None, *, export_metrics: bool = True, timeout_s: float | None = None,
                 compression: str | None = None, exporters: Sequence[SpanExporter] = (),
                 metric_exporters: Sequence[MetricExporter] = (), name: str = "otlp", **kwargs: Any) -> None:
        self.otlp = OTLPSettings(endpoint=endpoint, headers=parse_headers(headers), protocol=protocol,
                                 timeout_s=timeout_s, compression=compression)
        span_exporter, metric_exporter = build_otlp_exporters(self.otlp, metrics=export_metrics)
        super().__init__(
            name, exporters=[span_exporter, *exporters],
            metric_exporters=[*([metric_exporter] if metric_exporter else []), *metric_exporters], **kwargs)

    def __repr__(self) -> str:
        endpoint = redact_url(self.otlp.endpoint) if self.otlp.endpoint else "from OTEL_EXPORTER_OTLP_ENDPOINT"
        return f"OTLPMonitor(endpoint={endpoint!r}, protocol={self.otlp.resolved_protocol()!r})"
