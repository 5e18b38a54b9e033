"""The HTTP side the OTLP/HTTP and Langfuse receivers are built on.

``HTTPReceiverBase`` runs on ``local_http_server``'s server (127.0.0.1, an ephemeral port, every
thread joined on stop), records every request, applies programmed faults and hands the rest to the
subclass's ``_route``.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import Message
from local_http_server import BackgroundHTTPServer, LocalHTTPServer

from . import decode
from ._recording import FaultQueue, RecordedRequest, RequestLog

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Effect", "HTTPReceiverBase", "Response", "Routed", "export_reply"]

Effect = Callable[[], None]  # applied under the receiver lock once the request is recorded


class Response(NamedTuple):
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] | None = None


Routed = tuple[Response, Effect | None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the exporters' pooled sessions expect
    server: LocalHTTPServer

    def _dispatch(self) -> None:
        self.server.owner._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output quiet; requests are recorded instead


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    # Every client we test (requests, urllib) sends Content-Length, so chunked bodies are not supported.
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _write(handler: BaseHTTPRequestHandler, response: Response) -> None:
    handler.send_response(response.status)
    handler.send_header("Content-Type", response.content_type)
    for key, value in (response.headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(response.body)))
    handler.end_headers()
    handler.wfile.write(response.body)


class HTTPReceiverBase(BackgroundHTTPServer, RequestLog):
    """A ThreadingHTTPServer on 127.0.0.1:<ephemeral> that records requests and injects faults."""

    handler = _Handler

    def __init__(self) -> None:
        super().__init__()
        self._init_log()
        self.errors: list[str] = []  # tracebacks of receiver bugs (answered with 500)
        self._faults: FaultQueue[int] = FaultQueue()
        self._stopping = threading.Event()

    def start(self) -> Self:
        self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        self._stopping.set()  # cuts injected delays short, so stopping does not wait them out
        super().stop()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        headers = {key.lower(): value for key, value in handler.headers.items()}
        path = urlsplit(handler.path).path
        response, effect = self._respond(handler.command, path, headers, body)
        with self._cond:  # record and apply together, so waiters see a consistent state
            record = RecordedRequest(handler.command, path, headers, len(body), body, response.status)
            self._requests.append(record)
            self._rejected += response.status >= 400
            if effect is not None:
                effect()
            self._cond.notify_all()
        _write(handler, response)

    def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Routed:
        fault = self._faults.take(path)
        if fault is not None and fault.delay > 0:
            self._stopping.wait(fault.delay)
        if fault is not None and fault.status is not None:
            extra = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return Response(fault.status, fault.body, fault.content_type, extra), None
        try:
            return self._route(method, path, headers, body)
        except Exception:
            self.errors.append(traceback.format_exc())
            return Response(500, self.errors[-1].encode(), "text/plain"), None

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Routed:
        raise NotImplementedError


def export_reply(reply: Message, kind: decode.ContentKind) -> Response:
    """The (empty) Export*ServiceResponse, encoded like the request was."""
    if kind == "json":
        return Response(200, json_format.MessageToJson(reply).encode(), "application/json")
    return Response(200, reply.SerializeToString(), "application/x-protobuf")
