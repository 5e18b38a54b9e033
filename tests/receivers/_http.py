"""The threaded HTTP server the OTLP/HTTP and Langfuse receivers are built on.

``HTTPReceiverBase`` binds 127.0.0.1 on an ephemeral port, records every request, applies programmed
faults and hands the rest to the subclass's ``_route``; stopping it joins every thread it started.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import socketserver
import sys
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import Message

from . import decode
from ._recording import FaultQueue, RecordedRequest, Waitable

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
    server: _Server

    def _dispatch(self) -> None:
        self.server.receiver._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output quiet; requests are recorded instead


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() then joins every handler thread: nothing leaks

    def __init__(self, receiver: HTTPReceiverBase) -> None:
        self.receiver = receiver
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls getfqdn(), which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads parked on idle keep-alive connections so they can exit."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up after a delay are expected
            super().handle_error(request, client_address)


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


class HTTPReceiverBase(Waitable):
    """A ThreadingHTTPServer on 127.0.0.1:<ephemeral> that records requests and injects faults."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._rejected = 0
        self.errors: list[str] = []  # tracebacks of receiver bugs (answered with 500)
        self._faults: FaultQueue[int] = FaultQueue()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._stopping.clear()
        self._server = _Server(self)
        # poll_interval bounds how long stop() waits for the serve loop to notice.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.01)
        self._thread = threading.Thread(target=serve, name=f"{type(self).__name__}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None or thread is None:
            return
        self._stopping.set()  # cuts injected delays short
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins handler threads
        thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rejected(self) -> int:
        """How many requests were answered with a status >= 400 (injected or not)."""
        with self._cond:
            return self._rejected

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        with self._cond:
            return [r for r in self._requests if path is None or r.path == path]

    def wait_for_requests(self, n: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        self.wait_for(lambda: len(self._requests) >= n, timeout, f"{n} request(s)")
        return self.requests()

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
