"""The Langfuse span exporter: the official OTLP/HTTP exporter, Langfuse's translation, and clear failures.

Spans go to ``{host}/api/public/otel/v1/traces`` as gzip'd protobuf with Basic auth and
``x-langfuse-ingestion-version: 4``. The OTLP exporter sends through our requests session, which
lets us see each HTTP status and turn it into one clear action:

* 401/403: one log line ("Langfuse rejected the keys for host X", or Langfuse's reason for another
  403); nothing is sent, spans or scores, for a cool-down: one request per minute, not per batch.
* 3xx: a failure, never followed (the OTLP exporter counts it as delivered); the line names the Location.
* 400/413, and a batch the OTLP exporter refused to send (over its max request size): the reason
  is logged, the batch is resent once with long text attributes cut, then in halves, so one
  oversized or malformed span does not take the whole batch with it.
* 429/502/503/504 and connection errors: retried by the OTLP exporter within ``timeout_s``
  (honouring Retry-After); 500 and other 5xx: retried here twice (0.5 s, 2 s); a timeout: once;
  none once shutdown begins, so the final export is bounded by ``timeout_s``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agents_hub_monitoring._safety import internal_logger, report_internal_failure
from agents_hub_monitoring.exporters.langfuse_http import (
    AUTH_COOLDOWN_S,
    HTTPAttempt,
    RefusalCooldown,
    attempt_from,
    describe_response,
    redirect_message,
)
from agents_hub_monitoring.exporters.langfuse_translate import translate_span, trim_span
from agents_hub_monitoring.langfuse_settings import TRACES_PATH, LangfuseSettings
from agents_hub_monitoring.telemetry import semconv as sc

__all__ = ["HTTPAttempt", "LangfuseSpanExporter", "ObservingSession", "describe_response"]

DEFAULT_TIMEOUT_S = 5.0
TRIMMED_TEXT_CHARS = 1_000
_RETRY_DELAYS_S = (0.5, 2.0)
_MAX_SPLIT_DEPTH = 4  # 400/413 fallback: trim, then halve up to 3 times (at most 15 extra requests)
_RETRIED_BY_OTLP = frozenset({429, 502, 503, 504})
_SENT_HEADERS = frozenset({"content-type", "content-encoding", "user-agent"})
_OTLP_LOGGER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


class ObservingSession(requests.Session):
    """The session the OTLP exporter sends with. It records each outcome (per thread), follows no
    redirect and sends only the headers we set: ``OTEL_EXPORTER_OTLP_HEADERS`` and certificate
    variables are meant for the user's collector, whose credentials must never travel to Langfuse."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__()
        self._allowed = frozenset(key.lower() for key in headers) | _SENT_HEADERS
        self._local = threading.local()

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        headers = kwargs.get("headers") or {}
        kwargs["headers"] = {k: v for k, v in headers.items() if k.lower() in self._allowed}
        kwargs["verify"], kwargs["allow_redirects"], self.cert = True, False, None
        self._local.last = None
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.Timeout as error:
            self._local.last = HTTPAttempt(None, f"timed out ({type(error).__name__})", timed_out=True)
            raise
        except Exception as error:
            self._local.last = HTTPAttempt(None, f"{type(error).__name__} (is the host reachable?)")
            raise
        self._local.last = attempt_from(response)
        return response

    def forget(self) -> None:
        """Before an export: a failure with no attempt recorded then means no request was sent."""
        self._local.last = None

    def last_attempt(self) -> HTTPAttempt | None:
        return getattr(self._local, "last", None)


class _DemoteOurExportLogs(logging.Filter):
    """The OTLP exporter logs every failure at ERROR; for our exports we log one clear line
    ourselves, so its records become DEBUG (the last one is kept: it says why a batch was not
    sent at all). Other OTLP exporters in the process are untouched."""

    active = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self.active, "on", False):
            self.active.message = record.getMessage()
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_DEMOTE = _DemoteOurExportLogs()
logging.getLogger(_OTLP_LOGGER).addFilter(_DEMOTE)


@contextlib.contextmanager
def _demoted_logs() -> Iterator[None]:
    _DEMOTE.active.on, _DEMOTE.active.message = True, None
    try:
        yield
    finally:
        _DEMOTE.active.on = False


class LangfuseSpanExporter(SpanExporter):
    """Translates spans for Langfuse and sends them with the official OTLP/HTTP exporter; never raises.

    ``refusals`` is the 401/403 cool-down, shared with the scores client by ``LangfuseMonitor``.
    """

    def __init__(self, settings: LangfuseSettings, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 auth_cooldown_s: float = AUTH_COOLDOWN_S, trimmed_text_chars: int = TRIMMED_TEXT_CHARS,
                 refusals: RefusalCooldown | None = None, max_request_size: int | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        self.settings = settings
        self.timeout_s = float(timeout_s)
        self.refusals = refusals if refusals is not None else RefusalCooldown(auth_cooldown_s)
        self._trim_chars = trimmed_text_chars
        headers = settings.otlp_headers()
        self._session = ObservingSession(headers)
        limits = {} if max_request_size is None else {"max_request_size": max_request_size}
        self._otlp = OTLPSpanExporter(endpoint=settings.url(TRACES_PATH), headers=headers, timeout=self.timeout_s,
                                      compression=Compression.Gzip, session=self._session, **limits)
        self._stopping = threading.Event()
        self._closed = False
        self.last_failure: str | None = None

    def __repr__(self) -> str:
        return f"LangfuseSpanExporter(host={self.settings.display_host!r}, timeout_s={self.timeout_s})"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            if self._closed or self.refusals.active():  # refused recently: already reported
                return SpanExportResult.FAILURE
            batch = [self._translated(span) for span in spans if not _is_standalone_evaluation(span)]
            if not batch:
                return SpanExportResult.SUCCESS
            delivered = self._deliver(batch, trimmed=False, depth=0)
            if delivered:
                self.last_failure = None  # the last export's failure: a trimmed resend that got through is none
            return SpanExportResult.SUCCESS if delivered else SpanExportResult.FAILURE
        except Exception as error:
            report_internal_failure("LangfuseSpanExporter.export", error)
            return SpanExportResult.FAILURE

    agents_hub_reports_failures = True  # logs its own failures with Langfuse's reason

    @staticmethod
    def _translated(span: ReadableSpan) -> ReadableSpan:
        try:
            return translate_span(span)
        except Exception as error:  # an untranslated span still shows up in Langfuse
            report_internal_failure("langfuse translation", error)
            return span

    def _deliver(self, batch: list[ReadableSpan], *, trimmed: bool, depth: int) -> bool:
        failure = self._send(batch)
        if failure is None:
            return True
        self.last_failure = failure.describe()
        if failure.redirected:
            internal_logger.error("langfuse:redirect", "agents_hub_monitoring: %s; %d span(s) dropped",
                                  redirect_message(self.settings, failure, TRACES_PATH), len(batch))
            return False
        if failure.status in (401, 403):
            self.refusals.refuse(self.settings, failure)
            return False
        resend = failure.status in (400, 413) or failure.unsent
        if resend and depth < _MAX_SPLIT_DEPTH and not self._stopping.is_set():
            if not trimmed:
                action = f"resending with text attributes cut to {self._trim_chars} chars"
                self._warn_rejected("trim", failure, len(batch), action)
                return self._deliver([trim_span(s, self._trim_chars) for s in batch], trimmed=True, depth=depth + 1)
            if len(batch) > 1:
                self._warn_rejected("split", failure, len(batch), "resending in two halves")
                middle = len(batch) // 2
                halves = (batch[:middle], batch[middle:])
                return all([self._deliver(half, trimmed=True, depth=depth + 1) for half in halves])
        internal_logger.warning(
            "langfuse:export", "agents_hub_monitoring: could not export %d span(s) to Langfuse at %s (%s); dropped",
            len(batch), self.settings.display_host, failure.describe())
        return False

    def _warn_rejected(self, step: str, failure: HTTPAttempt, count: int, action: str) -> None:
        verb = "could not send" if failure.unsent else "Langfuse rejected"
        internal_logger.warning(f"langfuse:rejected:{step}", "agents_hub_monitoring: %s %d span(s) (%s); %s",
                                verb, count, failure.describe(), action)

    def _send(self, batch: list[ReadableSpan]) -> HTTPAttempt | None:
        """One export with our retries on top of the OTLP exporter's; None on success."""
        failure: HTTPAttempt | None = None
        for attempt, delay in enumerate((0.0, *_RETRY_DELAYS_S)):
            if delay and self._stopping.wait(delay):
                break
            self._session.forget()
            with _demoted_logs():
                result = self._otlp.export(batch)
            last = self._session.last_attempt()
            if result is SpanExportResult.SUCCESS:
                # The OTLP exporter counts a 3xx as delivered; Langfuse never saw those spans.
                return last if last is not None and last.redirected else None
            reason = getattr(_DEMOTE.active, "message", None) or "the OTLP exporter dropped the batch"
            failure = last or HTTPAttempt(None, f"no request was sent: {reason}", unsent=True)
            # A timed-out request used the OTLP exporter's whole window: one more try, not two.
            if not _retry_here(failure) or self._stopping.is_set() or (failure.timed_out and attempt >= 1):
                break
        return failure

    def begin_shutdown(self) -> None:
        """Stop retrying: the final export then takes at most ``timeout_s``."""
        self._stopping.set()

    def shutdown(self) -> None:
        self._stopping.set()
        self._closed = True
        try:
            with _demoted_logs():
                self._otlp.shutdown()
        except Exception as error:
            report_internal_failure("LangfuseSpanExporter.shutdown", error)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # nothing is buffered here: the batch processor in front holds the queue


def _retry_here(failure: HTTPAttempt) -> bool:
    if failure.timed_out:
        return True
    return failure.status is not None and failure.status >= 500 and failure.status not in _RETRIED_BY_OTLP


def _is_standalone_evaluation(span: ReadableSpan) -> bool:
    """A score recorded outside any trace: Langfuse gets it from the scores API as a session
    score, and a one-span trace for the marker would only clutter the session."""
    attributes = span.attributes or {}
    return span.parent is None and attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_EVALUATION
