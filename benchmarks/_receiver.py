"""A minimal, fast OTLP/HTTP receiver for the overhead benchmark, run in its own process.

``POST {prefix}/v1/traces`` bodies are decoded with ``opentelemetry-proto`` and their spans
counted per ``prefix`` (each benchmark process sends under its own prefix); metrics requests are
acknowledged and counted. ``GET /counts`` answers the counts as JSON. The process prints its port
on the first line of stdout and exits when its stdin is closed (that is, with its parent).

Run: ``python benchmarks/_receiver.py``.
"""

from __future__ import annotations

import gzip
import json
import socketserver
import sys
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["main"]

_SPANS: Counter[str] = Counter()
_REQUESTS: Counter[str] = Counter()
_LOCK = threading.Lock()


def count_spans(body: bytes) -> int:
    request = ExportTraceServiceRequest.FromString(body)
    return sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the exporters reuse one pooled connection

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        prefix, _, signal = self.path.rpartition("/v1/")
        try:
            spans = count_spans(body) if signal == "traces" else 0
        except Exception:  # a body that does not parse is a benchmark failure: answer 400
            self._answer(400, b"bad request")
            return
        with _LOCK:
            _SPANS[prefix] += spans
            _REQUESTS[f"{prefix}/{signal}"] += 1
        self._answer(200, b"", "application/x-protobuf")

    def do_GET(self) -> None:
        with _LOCK:
            payload = {"spans": dict(_SPANS), "requests": dict(_REQUESTS)}
        self._answer(200, json.dumps(payload).encode(), "application/json")

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skips getfqdn(), which can stall without DNS
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


def main() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdin.read()  # returns at EOF: the parent closed our stdin or exited
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
