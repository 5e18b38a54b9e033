"""A finished span reduced to what the console shows and the summary counts.

Spans reaching an exporter were built by our facades, but attributes can also come from users
(``attributes=``) or other instrumentations: every read here tolerates wrong types, NaN, huge or
multi-line strings, and never raises. Values are already scrubbed (the exporter sits behind the
privacy scrubber), so nothing here needs to redact.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from agents_hub_monitoring.telemetry import semconv as sc

__all__ = [
    "MARKER_OPERATIONS", "SpanView", "format_cost", "format_duration", "format_timestamp", "number", "text",
]

# Zero-length marker spans: a duration means nothing for them, so the console leaves it out.
MARKER_OPERATIONS = frozenset({sc.OP_EVENT, sc.OP_ERROR, sc.OP_EVALUATION})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # newlines, escapes (no terminal tricks)
_TEXT_LIMIT = 200


def text(value: Any, limit: int = _TEXT_LIMIT) -> str | None:
    """One printable line for any value (None stays None); never raises."""
    if value is None:
        return None
    try:
        raw = value if isinstance(value, str) else (
            ", ".join(str(item) for item in value) if isinstance(value, (list, tuple)) else str(value))
    except Exception:
        raw = f"<unprintable {type(value).__name__}>"
    line = _CONTROL.sub(" ", raw).strip()
    return line if len(line) <= limit else line[: max(limit - 3, 0)] + "..."


def number(value: Any) -> float | None:
    """A finite float from an int, float or numeric string; None for anything else (bools too)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value) if isinstance(value, (int, float, str)) else None
    except (ValueError, OverflowError):
        return None
    return result if result is not None and math.isfinite(result) else None


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def format_duration(seconds: float | None) -> str:
    """Millisecond precision: ``0.250s``, ``12.003s``."""
    return "-" if seconds is None else f"{seconds:.3f}s"


def format_cost(usd: float | None) -> str:
    return "-" if usd is None else f"${usd:.6f}"


def format_timestamp(ns: int) -> str:
    """ISO 8601 in UTC with milliseconds: ``2026-01-02T03:04:05.678Z``."""
    seconds, remainder = divmod(int(ns), 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{remainder // 1_000_000:03d}Z"


@dataclass(frozen=True)
class SpanView:
    """The parts of a finished span the console and the summary use."""

    trace_id: int
    span_id: int
    parent_id: int | None
    name: str
    operation: str | None
    start_ns: int
    end_ns: int
    failed: bool
    error: str | None = None
    outcome: str | None = None
    agent_name: str | None = None
    model: str | None = None
    tool_name: str | None = None
    event_name: str | None = None
    input_tokens: float | None = None
    output_tokens: float | None = None
    cost: float | None = None
    flagged: bool = False
    moderation_category: str | None = None
    moderation_action: str | None = None
    evaluation_name: str | None = None
    evaluation_kind: str | None = None
    evaluation_value: float | None = None
    evaluation_label: str | None = None
    result_count: float | None = None
    memory_store: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # only kept for DEBUG output

    @property
    def duration_s(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e9

    @property
    def is_llm(self) -> bool:
        if self.operation in sc.LLM_OPERATIONS:
            return True
        known = self.operation in (sc.OP_INVOKE_AGENT, sc.OP_EXECUTE_TOOL, sc.OP_RETRIEVAL, sc.OP_GUARDRAIL,
                                   sc.OP_WORKFLOW, *MARKER_OPERATIONS, *sc.MEMORY_OPERATIONS)
        return not known and self.operation is not None and self.model is not None

    @classmethod
    def from_span(cls, span: ReadableSpan, *, keep_attributes: bool = False) -> SpanView:
        attributes: Mapping[str, Any] = span.attributes or {}
        context, parent = span.get_span_context(), span.parent
        get = attributes.get
        start_ns = int(span.start_time or 0)
        return cls(
            trace_id=context.trace_id if context else 0, span_id=context.span_id if context else 0,
            parent_id=parent.span_id if parent is not None else None,
            name=text(span.name) or "span", operation=text(get(sc.GEN_AI_OPERATION_NAME), 64),
            start_ns=start_ns, end_ns=int(span.end_time or start_ns),
            failed=span.status.status_code is StatusCode.ERROR or get(sc.ERROR_TYPE) is not None,
            error=_error_text(span, attributes), outcome=text(get(sc.OUTCOME), 32),
            agent_name=text(get(sc.GEN_AI_AGENT_NAME), 80),
            model=text(get(sc.GEN_AI_REQUEST_MODEL) or get(sc.GEN_AI_RESPONSE_MODEL), 80),
            tool_name=text(get(sc.GEN_AI_TOOL_NAME), 80), event_name=text(get(sc.EVENT_NAME), 80),
            input_tokens=number(get(sc.GEN_AI_USAGE_INPUT_TOKENS)),
            output_tokens=number(get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)), cost=number(get(sc.GEN_AI_USAGE_COST)),
            flagged=_flag(get(sc.MODERATION_FLAGGED)), moderation_category=text(get(sc.MODERATION_CATEGORY), 80),
            moderation_action=text(get(sc.MODERATION_ACTION), 80),
            evaluation_name=text(get(sc.GEN_AI_EVALUATION_NAME), 80),
            evaluation_kind=text(get(sc.EVALUATION_KIND), 32),
            evaluation_value=number(get(sc.GEN_AI_EVALUATION_SCORE_VALUE)),
            evaluation_label=text(get(sc.GEN_AI_EVALUATION_SCORE_LABEL), 80),
            result_count=number(get(sc.RESULT_COUNT)), memory_store=text(get(sc.MEMORY_STORE), 80),
            attributes=_attribute_lines(attributes) if keep_attributes else (),
        )


def _error_text(span: ReadableSpan, attributes: Mapping[str, Any]) -> str | None:
    """``error.type`` and the status description, without repeating the type."""
    error_type = text(attributes.get(sc.ERROR_TYPE), 80)
    description = text(span.status.description) if span.status.status_code is StatusCode.ERROR else None
    if not description:
        return error_type
    if not error_type or error_type == sc.ERROR_TYPE_OTHER or description.startswith(error_type):
        return description
    return f"{error_type}: {description}"


def _attribute_lines(attributes: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((text(key, 120) or "", text(value) or "") for key, value in attributes.items()))
