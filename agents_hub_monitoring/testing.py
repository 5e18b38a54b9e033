"""A testing kit: capture a monitor's spans and metrics in memory and read them as plain dicts.

Used by our own tests and offered to users::

    from agents_hub_monitoring.testing import capture

    with capture() as (monitor, telemetry):
        with monitor.agent_run("planner"):
            ...
        assert telemetry.span_names() == ["invoke_agent planner"]
        assert telemetry.metric_points("agents_hub.agent.runs")[0]["value"] == 1
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["CapturedTelemetry", "RecordingSpanExporter", "capture", "span_to_dict"]


class RecordingSpanExporter(InMemorySpanExporter):
    """In-memory exporter that receives each span as it ends (no batching delay)."""

    agents_hub_synchronous = True


def span_to_dict(span: ReadableSpan) -> dict[str, Any]:
    """A span as a plain dict: name, ids (hex), parent, kind, status, attributes, events, times."""
    context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "trace_id": format(context.trace_id, "032x") if context else None,
        "span_id": format(context.span_id, "016x") if context else None,
        "parent_span_id": format(parent.span_id, "016x") if parent else None,
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "status_message": span.status.description,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
        "start_time": span.start_time,
        "end_time": span.end_time,
        "duration_s": ((span.end_time or 0) - (span.start_time or 0)) / 1e9,
        "resource": dict(span.resource.attributes),
    }


class CapturedTelemetry:
    """What a monitor emitted, read back as dicts."""

    def __init__(self, exporter: RecordingSpanExporter, reader: InMemoryMetricReader) -> None:
        self.exporter = exporter
        self.reader = reader

    def spans(self) -> list[dict[str, Any]]:
        """Finished spans in the order they ended."""
        return [span_to_dict(span) for span in self.exporter.get_finished_spans()]

    def span_names(self) -> list[str]:
        return [span["name"] for span in self.spans()]

    def span(self, name: str) -> dict[str, Any]:
        """The one span with this name (AssertionError if there are none or several)."""
        matches = [span for span in self.spans() if span["name"] == name]
        assert len(matches) == 1, f"expected one span named {name!r}, found {len(matches)}: {self.span_names()}"
        return matches[0]

    def children(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        return [span for span in self.spans() if span["parent_span_id"] == parent["span_id"]]

    def tree(self) -> list[tuple[int, str]]:
        """(depth, name) in depth-first order, children by start time: easy to assert exactly."""
        spans = self.spans()
        known = {span["span_id"] for span in spans}
        rows: list[tuple[int, str]] = []

        def walk(span: dict[str, Any], depth: int) -> None:
            rows.append((depth, span["name"]))
            for child in sorted(self.children(span), key=lambda s: s["start_time"]):
                walk(child, depth + 1)

        for root in sorted((s for s in spans if s["parent_span_id"] not in known), key=lambda s: s["start_time"]):
            walk(root, 0)
        return rows

    def metrics(self) -> dict[str, list[dict[str, Any]]]:
        """Metric name -> its points as dicts (value for sums; count/sum/buckets for histograms)."""
        data = self.reader.get_metrics_data()
        result: dict[str, list[dict[str, Any]]] = {}
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points = result.setdefault(metric.name, [])
                    points.extend(_point(metric.unit, point) for point in metric.data.data_points)
        return result

    def metric_points(self, name: str, **attributes: Any) -> list[dict[str, Any]]:
        """Points of one metric whose attributes include the given ones (dots as ``__``)."""
        wanted = {key.replace("__", "."): value for key, value in attributes.items()}
        return [point for point in self.metrics().get(name, [])
                if all(point["attributes"].get(k) == v for k, v in wanted.items())]

    def clear(self) -> None:
        self.exporter.clear()


def _point(unit: str, point: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"attributes": dict(point.attributes or {}), "unit": unit}
    if hasattr(point, "bucket_counts"):
        row.update(count=point.count, sum=point.sum, min=point.min, max=point.max,
                   bucket_counts=list(point.bucket_counts), explicit_bounds=list(point.explicit_bounds))
    else:
        row["value"] = point.value
    return row


@contextmanager
def capture(monitor_class: Any = None, **monitor_kwargs: Any) -> Iterator[tuple[Any, CapturedTelemetry]]:
    """A monitor (``BaseMonitor`` by default) wired to in-memory span and metric capture."""
    from agents_hub_monitoring.monitors.base import BaseMonitor

    exporter = RecordingSpanExporter()
    reader = InMemoryMetricReader()
    monitor_kwargs.setdefault("exporters", [])
    monitor_kwargs["exporters"] = [*monitor_kwargs["exporters"], exporter]
    monitor_kwargs["metric_readers"] = [*monitor_kwargs.get("metric_readers", ()), reader]
    monitor = (monitor_class or BaseMonitor)(**monitor_kwargs)
    try:
        yield monitor, CapturedTelemetry(exporter, reader)
    finally:
        monitor.shutdown()
