"""OTLP/HTTP receiver, plus the span/metric storage it shares with the gRPC receiver.

The HTTP server machinery lives in ``_http`` and the fault/recording building blocks in ``_recording``;
they are re-exported here because the other receivers (and older tests) import them from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from . import decode
from ._http import Effect, HTTPReceiverBase, Response, Routed, export_reply
from ._recording import Fault, FaultQueue, RecordedRequest, StatusT, T, Waitable

__all__ = [
    "Effect", "Fault", "FaultQueue", "HTTPReceiverBase", "MetricsPredicate", "OTLPHTTPReceiver",
    "RecordedRequest", "Response", "Routed", "StatusT", "T", "Telemetry", "TelemetryMixin", "Waitable",
    "export_reply",
]

Telemetry = dict[str, Any]  # one decoded span or metric, see decode.py
MetricsPredicate = Callable[[list[Telemetry]], bool]


class TelemetryMixin(Waitable):
    """Decoded span/metric storage with thread-safe accessors for the OTLP receivers."""

    def _init_telemetry(self) -> None:
        self._spans: list[Telemetry] = []
        self._metrics: list[Telemetry] = []

    def spans(self, name: str | None = None) -> list[Telemetry]:
        with self._cond:
            return [s for s in self._spans if name is None or s["name"] == name]

    def metrics(self, name: str | None = None) -> list[Telemetry]:
        with self._cond:
            return [m for m in self._metrics if name is None or m["name"] == name]

    def wait_for_spans(self, n: int = 1, timeout: float = 5.0) -> list[Telemetry]:
        self.wait_for(
            lambda: len(self._spans) >= n, timeout, lambda: f"{n} span(s); got {self._names(self._spans)}"
        )
        return self.spans()

    def wait_for_metrics(self, want: int | MetricsPredicate = 1, timeout: float = 5.0) -> list[Telemetry]:
        """Wait for ``want`` metrics, or until ``want(all_metrics_so_far)`` is true."""
        check = want if callable(want) else (lambda metrics: len(metrics) >= want)
        self.wait_for(
            lambda: check(list(self._metrics)), timeout, lambda: f"metrics; got {self._names(self._metrics)}"
        )
        return self.metrics()

    @staticmethod
    def _names(items: list[Telemetry]) -> list[str]:
        return [item["name"] for item in items]


class OTLPHTTPReceiver(TelemetryMixin, HTTPReceiverBase):
    """OTLP/HTTP collector stand-in: ``POST /v1/traces`` and ``POST /v1/metrics``."""

    def __init__(self) -> None:
        HTTPReceiverBase.__init__(self)
        self._init_telemetry()

    def fail_next(self, status: int = 503, times: int = 1, *, body: bytes = b"",
                  retry_after: float | None = 0.0, delay: float = 0.0, path_prefix: str = "/v1/") -> None:
        """Answer the next ``times`` matching requests with ``status``.

        ``retry_after`` sets the ``Retry-After`` header (seconds; the OTel exporters honour it
        for 429/502/503/504); the default 0 keeps retry tests fast. Pass None to omit it.
        """
        self._faults.push(Fault(status, delay, body, "text/plain", path_prefix, times, retry_after))

    def delay_next(self, seconds: float, times: int = 1, *, path_prefix: str = "/v1/") -> None:
        """Hold the next ``times`` matching requests for ``seconds`` before answering normally."""
        self._faults.push(Fault(None, seconds, path_prefix=path_prefix, remaining=times))

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Routed:
        if path not in ("/v1/traces", "/v1/metrics"):
            return Response(404, b"not found", "text/plain"), None
        if method != "POST":
            return Response(405, b"method not allowed", "text/plain"), None
        kind = decode.content_kind(headers.get("content-type"))
        if kind is None:  # the OTLP spec asks for 415 here
            return Response(415, b"unsupported content type", "text/plain"), None
        try:
            raw = decode.decompress(body, headers.get("content-encoding"))
            if path == "/v1/traces":
                spans = decode.spans_from_request(decode.parse_traces(raw, kind))
                return export_reply(ExportTraceServiceResponse(), kind), lambda: self._spans.extend(spans)
            metrics = decode.metrics_from_request(decode.parse_metrics(raw, kind))
            return export_reply(ExportMetricsServiceResponse(), kind), lambda: self._metrics.extend(metrics)
        except decode.DecodeError as exc:
            return Response(400, str(exc).encode(), "text/plain"), None
