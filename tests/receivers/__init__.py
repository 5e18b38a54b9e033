"""Real local servers that stand in for OTLP collectors and Langfuse in tests.

Every receiver binds 127.0.0.1 on an ephemeral port, serves from background threads and
is a context manager whose exit joins all of its threads and closes all of its sockets.
"""

from __future__ import annotations

from .decode import DecodeError, metrics_from_request, spans_from_request
from .langfuse import LangfuseReceiver, validate_score
from .langfuse_mapping import aggregate_traces, span_to_observation
from .otlp import OTLPHTTPReceiver, RecordedRequest
from .otlp_grpc import OTLPGRPCReceiver

__all__ = [
    "DecodeError",
    "LangfuseReceiver",
    "OTLPGRPCReceiver",
    "OTLPHTTPReceiver",
    "RecordedRequest",
    "aggregate_traces",
    "metrics_from_request",
    "span_to_observation",
    "spans_from_request",
    "validate_score",
]
