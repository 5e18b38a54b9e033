"""The Langfuse wire contract's input checks: score bodies, OTLP span ids, the ingestion version header.

Score issues use the zod shape Langfuse itself answers with, so client error handling is exercised
against realistic bodies.
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["MAX_INGESTION_VERSION", "ingestion_version_ok", "span_id_errors", "validate_score"]

MAX_INGESTION_VERSION = 4
_SCORE_TARGETS = ("traceId", "sessionId", "datasetRunId")
_SCORE_STRING_FIELDS = ("id", "traceId", "observationId", "sessionId", "datasetRunId", "comment", "configId")
_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL")
_ENVIRONMENT = re.compile(r"(?!langfuse)[a-z0-9_-]{1,40}")  # Langfuse's EnvironmentName rule


def _issue(field: str | None, message: str, code: str = "custom") -> dict[str, Any]:
    """One zod-style issue, the shape Langfuse puts in ``error``."""
    return {"code": code, "message": message, "path": [field] if field else []}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_issues(value: Any, data_type: Any) -> list[dict[str, Any]]:
    if data_type is not None and data_type not in _DATA_TYPES:  # a tuple: safe for unhashable JSON values
        return [_issue("dataType", f"Invalid discriminator value. Expected {' | '.join(_DATA_TYPES)}")]
    if value is None:
        return [_issue("value", "Required", "invalid_type")]
    valid = {
        "NUMERIC": _is_number(value),
        "BOOLEAN": _is_number(value) and value in (0, 1),
        "CATEGORICAL": isinstance(value, str),
        None: isinstance(value, str) or _is_number(value),
    }
    if valid[data_type]:
        return []
    if data_type == "BOOLEAN":
        return [_issue("value", "Value must be a number equal to either 0 or 1 for data type BOOLEAN")]
    expected = {"NUMERIC": "number", "CATEGORICAL": "string", None: "string | number"}[data_type]
    return [_issue("value", f"Expected {expected}, received {type(value).__name__}", "invalid_type")]


def _target_issues(score: dict[str, Any]) -> list[dict[str, Any]]:
    targets = [key for key in _SCORE_TARGETS if score.get(key)]
    issues = []
    if len(targets) != 1:
        issues.append(_issue(None, "Exactly one of traceId, sessionId or datasetRunId must be provided"))
    if score.get("observationId") and not score.get("traceId"):
        issues.append(_issue("observationId", "observationId requires traceId"))
    return issues


def validate_score(score: Any) -> list[dict[str, Any]]:
    """The contract's score rules; an empty list means valid."""
    if not isinstance(score, dict):
        return [_issue(None, "Expected object", "invalid_type")]
    issues = [
        _issue(key, "Expected string", "invalid_type")
        for key in _SCORE_STRING_FIELDS
        if score.get(key) is not None and not isinstance(score[key], str)
    ]
    if not isinstance(score.get("name"), str) or not score["name"]:
        issues.append(_issue("name", "Required: a non-empty string", "invalid_type"))
    environment = score.get("environment")
    if environment is not None and not (isinstance(environment, str) and _ENVIRONMENT.fullmatch(environment)):
        issues.append(_issue("environment", "Invalid environment name"))
    return issues + _value_issues(score.get("value"), score.get("dataType")) + _target_issues(score)


def ingestion_version_ok(header: str | None) -> bool:
    if header is None:
        return True
    try:
        return int(header.strip()) <= MAX_INGESTION_VERSION
    except ValueError:
        return False


def span_id_errors(request: ExportTraceServiceRequest) -> list[str]:
    errors = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(span.trace_id) != 16 or len(span.span_id) != 8:  # absent or truncated ids
                    errors.append(f"{span.name!r}: trace={span.trace_id.hex()} span={span.span_id.hex()}")
    return errors
