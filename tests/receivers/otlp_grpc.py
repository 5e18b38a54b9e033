"""OTLP/gRPC receiver: a real ``grpc.server`` on 127.0.0.1:<ephemeral>, insecure."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from . import decode
from ._recording import RequestLog
from .otlp import Fault, FaultQueue, RecordedRequest, TelemetryMixin

if TYPE_CHECKING:
    from typing_extensions import Self

TRACES_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
METRICS_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
# The OTel gRPC exporters read the backoff from this trailer (a google.rpc.RetryInfo).
_RETRY_INFO_KEY = "google.rpc.retryinfo-bin"


def _retry_info(seconds: float) -> bytes:
    """Serialize ``google.rpc.RetryInfo{retry_delay: Duration}`` without googleapis protos.

    RetryInfo has a single field (1, length-delimited) holding the Duration, so the
    encoding is one tag byte, one length byte (a Duration is always < 128 bytes), payload.
    """
    delay = Duration()
    delay.FromNanoseconds(int(seconds * 1e9))
    payload = delay.SerializeToString()
    return b"\x0a" + bytes([len(payload)]) + payload


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OTLPGRPCReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Message:
        return self._receiver._export(TRACES_METHOD, request, context)


class _MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: OTLPGRPCReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Message:
        return self._receiver._export(METRICS_METHOD, request, context)


class OTLPGRPCReceiver(TelemetryMixin, RequestLog):
    """OTLP/gRPC collector stand-in implementing TraceService/Export and MetricsService/Export."""

    def __init__(self, max_workers: int = 4) -> None:
        self._init_log()
        self._init_telemetry()
        self._faults: FaultQueue[grpc.StatusCode] = FaultQueue()
        self._stopping = threading.Event()
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._server: grpc.Server | None = None
        self._port = 0

    def start(self) -> Self:
        self._stopping.clear()
        self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="otlp-grpc-receiver")
        self._server = grpc.server(self._executor)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), self._server)
        self._port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        server, executor, self._server, self._executor = self._server, self._executor, None, None
        if server is None or executor is None:
            return
        self._stopping.set()
        server.stop(grace=None).wait()
        executor.shutdown(wait=True)  # grpc does not own the pool, so its threads would outlive the server

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("OTLPGRPCReceiver is not running")
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(
        self,
        code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        times: int = 1,
        *,
        details: str = "injected failure",
        retry_delay: float | None = 0.0,
        delay: float = 0.0,
        path_prefix: str = "/",
    ) -> None:
        """Abort the next ``times`` matching RPCs with ``code``.

        ``retry_delay`` is sent as a RetryInfo trailer, which the OTel exporters use as their
        backoff; the default 0 keeps retry tests fast. Pass None to omit it.
        """
        self._faults.push(Fault(code, delay, details.encode(), "", path_prefix, times, retry_delay))

    def delay_next(self, seconds: float, times: int = 1, *, path_prefix: str = "/") -> None:
        self._faults.push(Fault(None, seconds, path_prefix=path_prefix, remaining=times))

    def _export(self, path: str, request: Any, context: grpc.ServicerContext) -> Message:
        fault = self._faults.take(path)
        if fault is not None and fault.delay > 0:
            self._stopping.wait(fault.delay)
        code = fault.status if fault is not None and fault.status is not None else grpc.StatusCode.OK
        store, items, reply = self._decode(path, request)
        headers = {key.lower(): value for key, value in context.invocation_metadata()}
        with self._cond:
            self._requests.append(
                RecordedRequest(
                    "POST", path, headers, request.ByteSize(), request.SerializeToString(), code.value[0]
                )
            )
            if code is grpc.StatusCode.OK:
                store.extend(items)
            else:
                self._rejected += 1
            self._cond.notify_all()
        if fault is not None and code is not grpc.StatusCode.OK:
            if fault.retry_after is not None:
                context.set_trailing_metadata(((_RETRY_INFO_KEY, _retry_info(fault.retry_after)),))
            context.abort(code, fault.body.decode())
        return reply

    def _decode(self, path: str, request: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Message]:
        if path == TRACES_METHOD:
            return (
                self._spans,
                decode.spans_from_request(request),
                trace_service_pb2.ExportTraceServiceResponse(),
            )
        return (
            self._metrics,
            decode.metrics_from_request(request),
            metrics_service_pb2.ExportMetricsServiceResponse(),
        )
