"""LangfuseMonitor: traces to Langfuse's OTLP endpoint, scores and feedback to its scores API.

The monitor owns its TracerProvider (built by the core pipeline) with the Langfuse span exporter
behind the usual batch processor, scrubbing and resilience wrappers. Langfuse takes no OTLP
metrics, so none are exported unless you pass your own ``metric_exporters``/``metric_readers``.
"""

from __future__ import annotations

import logging
import string
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import get_current_span

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.exporters.langfuse import DEFAULT_TIMEOUT_S, LangfuseSpanExporter
from agents_hub_monitoring.exporters.langfuse_http import RefusalCooldown
from agents_hub_monitoring.exporters.resilient import call_with_deadline
from agents_hub_monitoring.langfuse_scores import LangfuseScoresClient
from agents_hub_monitoring.langfuse_settings import LangfuseSettings, mask_secret
from agents_hub_monitoring.monitors.base import BaseMonitor
from agents_hub_monitoring.monitors.imperative import validate_score_value
from agents_hub_monitoring.serialization import coerce_id, to_jsonable
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.processors import StartOnlyProcessor

__all__ = ["LangfuseMonitor", "TraceNameProcessor"]

logger = logging.getLogger(__name__)


class TraceNameProcessor(StartOnlyProcessor):
    """Stamps ``langfuse.trace.name`` on every span as it starts.

    Langfuse reads the trace name from span attributes and the spans of one trace reach it in
    different batches, so every span carries the root's name: a root names the trace after its
    agent (or itself); a child copies the stamp of its live parent span.
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if (span.attributes or {}).get(sc.LANGFUSE_TRACE_NAME):
            return  # named explicitly by the caller
        name = None
        parent = span.parent
        if parent is not None and parent.is_valid and not parent.is_remote:
            live = get_current_span(parent_context)
            if live.get_span_context().span_id == parent.span_id:
                name = (getattr(live, "attributes", None) or {}).get(sc.LANGFUSE_TRACE_NAME)
        if name is None:
            name = (span.attributes or {}).get(sc.GEN_AI_AGENT_NAME) or span.name
        span.set_attribute(sc.LANGFUSE_TRACE_NAME, str(name))


class LangfuseMonitor(BaseMonitor):
    """Monitor that sends traces, scores and feedback to Langfuse.

    Unset arguments come from ``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY``, ``LANGFUSE_BASE_URL``
    (or the older ``LANGFUSE_HOST``), ``LANGFUSE_RELEASE``, ``LANGFUSE_TRACING_ENVIRONMENT`` and
    ``LANGFUSE_SAMPLE_RATE``. ``timeout_s`` bounds each HTTP request; ``shutdown()`` returns within
    ``shutdown_timeout_s`` (default 5 s) even when Langfuse is unreachable.
    """

    def __init__(self, public_key: str | None = None, secret_key: str | None = None, host: str | None = None,
                 release: str | None = None, environment: str | None = None, sample_rate: float | None = None, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S, score_retries: int = 4, score_queue_size: int = 1_000,
                 exporters: Sequence[SpanExporter] = (), span_processors: Sequence[SpanProcessor] = (),
                 resource_attributes: Mapping[str, Any] | None = None, name: str = "langfuse", **kwargs: Any) -> None:
        self.settings = LangfuseSettings.resolve(public_key, secret_key, host, release, environment, sample_rate)
        refusals = RefusalCooldown()  # one 401/403 cool-down for spans and scores alike
        self.span_exporter = LangfuseSpanExporter(self.settings, timeout_s=timeout_s, refusals=refusals)
        self.scores = LangfuseScoresClient(self.settings, timeout_s=timeout_s, retries=score_retries,
                                           max_queue=score_queue_size, refusals=refusals)
        resource = dict(resource_attributes or {})
        if self.settings.release:  # Langfuse's release field; service.version becomes its "version"
            resource.setdefault(sc.LANGFUSE_RELEASE, self.settings.release)
        self._scores_joined = False
        super().__init__(name, exporters=[self.span_exporter, *exporters],
                         span_processors=[TraceNameProcessor(), *span_processors], release=self.settings.release,
                         environment=self.settings.environment, sample_rate=self.settings.sample_rate,
                         resource_attributes=resource, **kwargs)

    @property
    def shutdown_timeout_s(self) -> float:
        return self._pipeline.settings.shutdown_timeout_s

    # -- scores ------------------------------------------------------------------------------------------
    def _submit_score(self, *, name: str, value: float | str, data_type: str, comment: str | None,
                      conversation_id: str, metadata: Mapping[str, Any] | None) -> str:
        """Hook of ``score_conversation`` / ``add_user_feedback``: a session score (conversation = session).

        Returns the Langfuse score id, which becomes the ``Tracked.id`` of those calls."""
        return self.scores.submit(_score_body(name, value, data_type, comment, metadata, sessionId=conversation_id))

    def score(self, name: str, value: Any, *, trace_id: Any = None, observation_id: Any = None,
              session_id: Any = None, comment: str | None = None, data_type: str | None = None,
              metadata: Mapping[str, Any] | None = None) -> str | None:
        """Score a trace (optionally one observation of it) or a session; returns the score id.

        Sent in the background. An invalid value or target raises ``ValueError`` here, at the call.
        A trace that was sampled out never reaches Langfuse, so its scores are not sent (None).
        """
        if not name or not isinstance(name, str):
            raise ValueError("a score needs a non-empty name")
        clean, resolved_type = validate_score_value(value, data_type)
        trace, observation = _hex_id(trace_id, 32), _hex_id(observation_id, 16)
        session = coerce_id(session_id)
        if (trace is None) == (session is None):
            raise ValueError("a score needs exactly one target: trace_id=... or session_id=...")
        if observation is not None and trace is None:
            raise ValueError("observation_id requires trace_id")
        targets = {"traceId": trace, "observationId": observation, "sessionId": session}
        try:
            if not isinstance(clean, str):
                self._instruments.record_evaluation(name=name, value=clean, kind="score")
            if trace is not None and self._sampled_out(trace):
                logger.debug("agents_hub_monitoring: Langfuse score %r not sent: trace %s was sampled out",
                             name, trace)
                return None
            body = _score_body(name, clean, resolved_type, comment, metadata,
                               **{k: v for k, v in targets.items() if v is not None})
            return self.scores.submit(body)
        except Exception as error:
            report_internal_failure("LangfuseMonitor.score", error)
            return None

    def _sampled_out(self, trace_id: str) -> bool:
        """Whether this trace was not recorded: the current span says so when it is in that trace;
        otherwise the trace-id ratio decision our sampler made for it as a root (deterministic)."""
        context = get_current_span().get_span_context()
        if context.is_valid and format(context.trace_id, "032x") == trace_id:
            return not context.trace_flags.sampled
        rate = self.settings.sample_rate
        if rate is None or rate >= 1.0 or len(trace_id) != 32:
            return False
        try:
            decision = TraceIdRatioBased(rate).should_sample(None, int(trace_id, 16), "score").decision
        except ValueError:
            return False
        return not decision.is_sampled()

    def score_current_trace(self, name: str, value: Any, *, comment: str | None = None,
                            data_type: str | None = None, metadata: Mapping[str, Any] | None = None) -> str | None:
        """Score the trace of the span that is current here (``ValueError`` outside any span)."""
        context = _current_span_context("score_current_trace")
        return self.score(name, value, trace_id=context.trace_id, comment=comment, data_type=data_type,
                          metadata=metadata)

    def score_current_span(self, name: str, value: Any, *, comment: str | None = None,
                           data_type: str | None = None, metadata: Mapping[str, Any] | None = None) -> str | None:
        """Score the current span (a Langfuse observation) within its trace."""
        context = _current_span_context("score_current_span")
        return self.score(name, value, trace_id=context.trace_id, observation_id=context.span_id,
                          comment=comment, data_type=data_type, metadata=metadata)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def flush(self, timeout_s: float | None = None) -> bool:
        """Export pending spans, then wait for queued scores with what is left of ``timeout_s``."""
        budget = timeout_s or self.shutdown_timeout_s
        started = time.monotonic()
        # The SDK's batch processor exports on the caller's thread and ignores the timeout, so a
        # hung Langfuse would hold this call for the whole retry schedule: wait at most ``budget``.
        outcome: list[bool] = []
        finished = call_with_deadline("langfuse.flush", lambda: outcome.append(BaseMonitor.flush(self, budget)), budget)
        spans_ok = finished and all(outcome)
        try:  # scores are already being sent in the background: this only waits for them
            return bool(self.scores.flush(budget - (time.monotonic() - started)) and spans_ok)
        except Exception as error:
            report_internal_failure("LangfuseMonitor.flush", error)
            return False

    def _before_shutdown(self) -> None:
        # Both drain in parallel with the pipeline's shutdown, so the whole stays within the bound.
        self.span_exporter.begin_shutdown()
        self.scores.begin_close(self.shutdown_timeout_s)

    def shutdown(self) -> None:
        """Flush spans and scores and stop; returns within about ``shutdown_timeout_s``."""
        started = time.monotonic()
        super().shutdown()
        try:
            if not self._scores_joined:
                self._scores_joined = True
                self.scores.join(self.shutdown_timeout_s - (time.monotonic() - started))
        except Exception as error:
            report_internal_failure("LangfuseMonitor.shutdown", error)

    def __repr__(self) -> str:
        return (f"LangfuseMonitor(name={self.name!r}, host={self.settings.display_host!r}, "
                f"public_key={mask_secret(self.settings.public_key)!r}, release={self.settings.release!r}, "
                f"environment={self.settings.environment!r})")


def _score_body(name: str, value: float | str, data_type: str, comment: str | None,
                metadata: Mapping[str, Any] | None, **target: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "value": int(value) if data_type == "BOOLEAN" else value,
                            "dataType": data_type, **target}
    if comment:
        body["comment"] = str(comment)
    if metadata:
        body["metadata"] = to_jsonable(dict(metadata))
    return body


def _hex_id(value: Any, width: int) -> str | None:
    """OTel ids as Langfuse stores them: lower-case hex (ints are formatted, strings kept)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return format(value, f"0{width}x") if value else None
    text = coerce_id(value)
    if text and len(text) == width and all(c in string.hexdigits for c in text):
        return text.lower()
    return text


def _current_span_context(caller: str) -> Any:
    context = get_current_span().get_span_context()
    if not context.is_valid:
        raise ValueError(f"{caller} must be called inside a span (e.g. within monitor.agent_run(...))")
    return context
