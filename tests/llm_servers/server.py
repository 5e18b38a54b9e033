"""A local HTTP server speaking the OpenAI and Anthropic wire formats, for SDK client tests.

Routes (base URL ``{server.url}/v1`` for both SDKs):

- ``POST /v1/chat/completions``: a chat completion, or a ``data:`` chunk stream ending in ``[DONE]``;
- ``POST /v1/responses``: a Responses API object, or its ``response.*`` event stream;
- ``POST /v1/messages``: an Anthropic message, or its ``message_*`` / ``content_block_*`` events;
- ``/fail/{status}/v1/...``: the provider's error envelope with that status (500, 429, 529, ...);
- ``/cut/{count}/v1/...``: a stream that sends its first ``count`` events, then an error event in
  the stream (HTTP 200 already sent), the way both APIs report a failure mid-stream.

A request with ``tools`` gets a tool call back. Streams are sent with chunked transfer encoding,
one event per chunk, as the real APIs do. Every request is recorded (path, headers, JSON body).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from local_http_server import BackgroundHTTPServer, LocalHTTPServer

from .anthropic_shapes import anthropic_error, message, message_events
from .openai_shapes import chat_chunks, chat_completion, openai_error, response, response_events

__all__ = ["FakeLLMServer", "SeenRequest"]


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real APIs
    server: LocalHTTPServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        self.server.owner._record(SeenRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        path, kind, number = _split_prefix(self.path.split("?", 1)[0])  # Azure adds ?api-version=
        anthropic = path.endswith("/messages")
        cut = number if kind == "cut" else None
        if kind == "fail" and number is not None:
            self._json(number, anthropic_error(number) if anthropic else openai_error(number), anthropic)
        elif path.endswith("/chat/completions"):
            if body.get("stream"):
                chunks: list[tuple[str | None, Any]] = [(None, chunk) for chunk in chat_chunks(body)]
                self._stream(_cut([*chunks, (None, "[DONE]")], cut, (None, openai_error(500))), False)
            else:
                self._json(200, chat_completion(body), False)
        elif path.endswith("/responses"):
            if body.get("stream"):
                self._stream(response_events(body), False)
            else:
                self._json(200, response(body), False)
        elif anthropic:
            if body.get("stream"):
                self._stream(_cut(message_events(body), cut, ("error", anthropic_error(529))), True)
            else:
                self._json(200, message(body), True)
        else:
            self._json(404, openai_error(404), False)

    def _headers(self, status: int, content_type: str, anthropic: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if anthropic:
            self.send_header("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")
            self.send_header("anthropic-organization-id", "4a1c6b7e-0000-4000-8000-000000000000")
        else:
            self.send_header("x-request-id", "req_a121f023915b3c4a2ca2415663e54dd8")
            self.send_header("openai-processing-ms", "12")
        # Tell the SDKs not to retry: tests see each failure once.
        self.send_header("x-should-retry", "false")

    def _json(self, status: int, payload: dict[str, Any], anthropic: bool) -> None:
        data = json.dumps(payload).encode()
        self._headers(status, "application/json", anthropic)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: list[tuple[str | None, Any]], anthropic: bool) -> None:
        self._headers(200, "text/event-stream; charset=utf-8", anthropic)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for name, data in events:
                text = data if isinstance(data, str) else json.dumps(data)
                frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
                payload = frame.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client closed the stream early: expected in tests

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded instead


def _split_prefix(path: str) -> tuple[str, str | None, int | None]:
    """``/fail/500/v1/x`` -> ("/v1/x", "fail", 500); a path without a test prefix -> (path, None, None)."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1] in ("fail", "cut") and parts[2].isdigit():
        return "/" + "/".join(parts[3:]), parts[1], int(parts[2])
    return path, None, None


def _cut(events: list[tuple[str | None, Any]], count: int | None,
         error: tuple[str | None, Any]) -> list[tuple[str | None, Any]]:
    # The real APIs report a failure after the 200 as one more event; nothing follows it.
    return events if count is None else [*events[:count], error]


class FakeLLMServer(BackgroundHTTPServer):
    """``with FakeLLMServer() as server: OpenAI(base_url=f"{server.url}/v1", ...)``."""

    handler = _Handler

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: list[SeenRequest] = []

    def _record(self, request: SeenRequest) -> None:
        with self._lock:
            self._seen.append(request)

    @property
    def requests(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    @property
    def url(self) -> str:
        return self.endpoint
