"""A Langfuse server stand-in that follows the project's "Langfuse wire contract" to the letter.

Routes: ``POST /api/public/otel/v1/traces`` (spans -> observations, see langfuse_mapping),
``POST /api/public/otel/v1/metrics`` (discarded), ``POST /api/public/scores``,
``GET /api/public/projects`` (the official SDK's auth_check) and ``GET /api/public/health``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from . import decode
from ._http import HTTPReceiverBase, Response, Routed, export_reply
from ._recording import Fault, FaultQueue
from .langfuse_mapping import aggregate_traces, span_to_observation
from .langfuse_validation import MAX_INGESTION_VERSION, ingestion_version_ok, span_id_errors, validate_score

__all__ = [
    "BEARER_FORBIDDEN", "HEALTH_PATH", "INVALID_CREDENTIALS", "MAX_INGESTION_VERSION", "METRICS_PATH",
    "NO_AUTHORIZATION", "PROJECTS_PATH", "SCORES_PATH", "TRACES_PATH", "LangfuseReceiver", "validate_score",
]

TRACES_PATH = "/api/public/otel/v1/traces"
METRICS_PATH = "/api/public/otel/v1/metrics"
SCORES_PATH = "/api/public/scores"
PROJECTS_PATH = "/api/public/projects"
HEALTH_PATH = "/api/public/health"
INVALID_CREDENTIALS = "Invalid credentials. Confirm that you've configured the correct host."
NO_AUTHORIZATION = "No authorization header"
BEARER_FORBIDDEN = "Access denied: a public key alone (Bearer) may only create scores"
_ROUTES = {
    TRACES_PATH: "POST", METRICS_PATH: "POST", SCORES_PATH: "POST", PROJECTS_PATH: "GET", HEALTH_PATH: "GET"
}


def _json(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


class LangfuseReceiver(HTTPReceiverBase):
    """Langfuse stand-in with Basic/Bearer auth, OTLP ingestion, scores and fault injection."""

    def __init__(self, public_key: str = "pk-lf-test", secret_key: str = "sk-lf-test", *,
                 project_id: str = "proj-1", project_name: str = "test") -> None:
        super().__init__()
        self.public_key, self.secret_key = public_key, secret_key
        self.project_id, self.project_name = project_id, project_name
        self._spans: list[dict[str, Any]] = []
        self._observations: list[dict[str, Any]] = []
        self._scores: dict[str, dict[str, Any]] = {}
        self._score_posts: list[dict[str, Any]] = []
        self._redirects: FaultQueue[int] = FaultQueue()  # a Fault's body is the Location to send

    @property
    def basic_auth(self) -> str:
        """The ``Authorization`` header value the configured keys produce."""
        token = base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        return f"Basic {token}"

    def spans(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._spans)

    def observations(self, name: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [o for o in self._observations if name is None or o["name"] == name]

    def observation(self, name: str) -> dict[str, Any]:
        """The last observation called ``name``; KeyError when there is none."""
        matches = self.observations(name)
        if not matches:
            raise KeyError(f"no observation named {name!r}; have {[o['name'] for o in self.observations()]}")
        return matches[-1]

    def traces(self) -> list[dict[str, Any]]:
        with self._cond:
            return aggregate_traces(zip(self._spans, self._observations, strict=True))

    def trace(self, trace_id: str) -> dict[str, Any]:
        """The aggregated trace with this (32-hex) id; KeyError when unknown."""
        for trace in self.traces():
            if trace["id"] == trace_id:
                return trace
        raise KeyError(trace_id)

    def scores(self) -> dict[str, dict[str, Any]]:
        """Current scores keyed by id (re-posting an id updates it in place)."""
        with self._cond:
            return dict(self._scores)

    def score_posts(self) -> list[dict[str, Any]]:
        """Every accepted score POST in arrival order, including updates and retries."""
        with self._cond:
            return list(self._score_posts)

    def wait_for_observations(self, n: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self._observations) >= n, timeout, f"{n} observation(s)")
        return self.observations()

    def wait_for_scores(self, n: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self._score_posts) >= n, timeout, f"{n} score POST(s)")
        return self.score_posts()

    def fail_next(self, path_prefix: str = "/api/public", status: int = 500, times: int = 1,
                  body: dict[str, Any] | str | bytes | None = None, *, retry_after: float | None = 0.0,
                  delay: float = 0.0) -> None:
        """Answer the next ``times`` requests under ``path_prefix`` with ``status`` (before auth)."""
        if body is None:
            body = {"message": f"Injected failure ({status})"}
        text = body if isinstance(body, bytes | str) else json.dumps(body)
        payload = text if isinstance(text, bytes) else text.encode()
        self._faults.push(Fault(status, delay, payload, "application/json", path_prefix, times, retry_after))

    def delay_next(self, seconds: float, times: int = 1, *, path_prefix: str = "/api/public") -> None:
        self._faults.push(Fault(None, seconds, path_prefix=path_prefix, remaining=times))

    def redirect_next(self, location: str, path_prefix: str = "/api/public", status: int = 302,
                      times: int = 1) -> None:
        """Answer the next ``times`` requests under ``path_prefix`` with ``status`` and ``Location: location``
        (a proxy or an http -> https front door does this; Langfuse itself never redirects its API)."""
        self._redirects.push(Fault(status, body=location.encode(), path_prefix=path_prefix, remaining=times))

    def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Routed:
        redirect = self._redirects.take(path)
        if redirect is not None and redirect.status is not None:
            return Response(redirect.status, b"", "text/html", {"Location": redirect.body.decode()}), None
        return super()._respond(method, path, headers, body)

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Routed:
        expected_method = _ROUTES.get(path)
        if expected_method is None:
            return _json(404, {"message": "Not found"}), None
        if method != expected_method:
            return _json(405, {"message": f"Method {method} not allowed"}), None
        if path == HEALTH_PATH:
            return _json(200, {"status": "OK", "version": "3.0.0"}), None
        denied = self._authenticate(headers.get("authorization"), path)
        if denied is not None:
            return denied, None
        if path == TRACES_PATH:
            return self._ingest_traces(headers, body)
        if path == METRICS_PATH:  # the contract: authenticate, then discard
            kind = decode.content_kind(headers.get("content-type"))
            return (export_reply(ExportMetricsServiceResponse(), kind) if kind else _json(200, {})), None
        if path == SCORES_PATH:
            return self._create_score(body)
        return _json(200, {"data": [{"id": self.project_id, "name": self.project_name}]}), None

    def _authenticate(self, header: str | None, path: str) -> Response | None:
        if not header:
            return _json(401, {"message": NO_AUTHORIZATION})
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip() == self.public_key:
            return None if path == SCORES_PATH else _json(403, {"message": BEARER_FORBIDDEN})
        if scheme.lower() == "basic" and self._basic_matches(credentials.strip()):
            return None
        return _json(401, {"message": INVALID_CREDENTIALS})

    def _basic_matches(self, token: str) -> bool:
        try:
            decoded = base64.b64decode(token, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.public_key}:{self.secret_key}"

    def _ingest_traces(self, headers: dict[str, str], body: bytes) -> Routed:
        kind = decode.content_kind(headers.get("content-type"))
        if kind is None:
            return _json(400, {"error": "Invalid content type"}), None
        version = headers.get("x-langfuse-ingestion-version")
        if not ingestion_version_ok(version):
            message = f'Unsupported x-langfuse-ingestion-version: "{version}". Maximum supported: "4".'
            return _json(400, {"error": message}), None
        try:  # like Langfuse, only gzip is undone; any other encoding fails to parse
            raw = decode.decompress(body, "gzip" if "gzip" in headers.get("content-encoding", "") else None)
            request = decode.parse_traces(raw, kind)
        except decode.DecodeError as exc:
            return _json(400, {"error": f"Failed to parse OTel trace: {exc}"}), None
        if errors := span_id_errors(request):
            return _json(400, {"error": "Spans without valid trace/span id", "spans": errors}), None
        spans = decode.spans_from_request(request)
        observations = [span_to_observation(span) for span in spans]

        def store() -> None:
            self._spans.extend(spans)
            self._observations.extend(observations)

        return export_reply(ExportTraceServiceResponse(), kind), store

    def _create_score(self, body: bytes) -> Routed:
        try:
            score = json.loads(body)
        except ValueError:
            score = None
        if issues := validate_score(score):
            return _json(400, {"message": "Invalid request data", "error": issues}), None
        score = {**score, "id": score.get("id") or str(uuid.uuid4())}

        def store() -> None:
            self._scores[score["id"]] = score  # same id again: update, never duplicate
            self._score_posts.append(score)

        return _json(200, {"id": score["id"]}), store
