"""The newest GenAI draft metrics, recorded only behind
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` (contracts/semconv.md).

Token counters by kind (input, output, cache read, cache write, reasoning) with the
``gen_ai.token.modality`` dimension, and ``gen_ai.client.inference.duration``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.metrics import Meter

from agents_hub_monitoring.telemetry import semconv as sc

__all__ = ["DraftInstruments"]

# Usage kind -> draft counter name; the counts arrive with these keys from the LLM handle.
_TOKEN_COUNTERS = {
    "input": sc.METRIC_DRAFT_INPUT_TOKENS,
    "output": sc.METRIC_DRAFT_OUTPUT_TOKENS,
    "cache_read": sc.METRIC_DRAFT_CACHE_READ_TOKENS,
    "cache_write": sc.METRIC_DRAFT_CACHE_WRITE_TOKENS,
    "reasoning": sc.METRIC_DRAFT_REASONING_TOKENS,
}


class DraftInstruments:
    def __init__(self, meter: Meter) -> None:
        self.tokens = {kind: meter.create_counter(name, "{token}", f"{kind} tokens (GenAI draft)")
                       for kind, name in _TOKEN_COUNTERS.items()}
        self.inference_duration = meter.create_histogram(
            sc.METRIC_DRAFT_INFERENCE_DURATION, "s", "Inference duration (GenAI draft)",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS)

    def record(self, attributes: Mapping[str, Any], duration_s: float, error_type: str | None,
               tokens: Mapping[str, int | None]) -> None:
        timed = dict(attributes)
        if error_type:
            timed[sc.ERROR_TYPE] = error_type
        self.inference_duration.record(duration_s, timed)
        # Our calls carry text; the dimension is required by the draft, so say so explicitly.
        counted = {**attributes, sc.GEN_AI_TOKEN_MODALITY: "text"}
        for kind, count in tokens.items():
            if count:
                self.tokens[kind].add(count, counted)
