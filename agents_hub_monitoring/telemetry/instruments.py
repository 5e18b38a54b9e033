"""Metric instruments and the one function per operation that records them.

Facades call these when an operation ends (metrics are not derived from exported spans, so they
are right even when spans are sampled out). Every attribute here is low-cardinality: never user
ids, conversation ids or free text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.draft_instruments import DraftInstruments

__all__ = ["Instruments"]

Attributes = dict[str, Any]


def _with_error(attributes: Attributes, error_type: str | None) -> Attributes:
    if error_type:
        attributes[sc.ERROR_TYPE] = error_type
    return attributes


class Instruments:
    """All instruments of one monitor, created once on its meter."""

    def __init__(self, meter: Meter, health: Callable[[], Iterable[Any]] | None = None) -> None:
        def histogram(name: str, unit: str, description: str, buckets: Sequence[float]) -> Histogram:
            # Bucket boundaries suited to each quantity; the SDK defaults are tuned for milliseconds.
            return meter.create_histogram(name, unit, description, explicit_bucket_boundaries_advisory=buckets)

        self.operation_duration = histogram(
            sc.METRIC_OPERATION_DURATION, "s", "GenAI operation duration", sc.DURATION_BUCKETS)
        self.token_usage = histogram(
            sc.METRIC_TOKEN_USAGE, "{token}", "Tokens used per GenAI operation", sc.TOKEN_BUCKETS)
        self.time_to_first_chunk = histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK, "s", "Time to the first streamed chunk", sc.DURATION_BUCKETS)
        self.tool_duration = histogram(
            sc.METRIC_TOOL_DURATION, "s", "Tool execution duration", sc.DURATION_BUCKETS)
        self.agent_duration = histogram(
            sc.METRIC_AGENT_DURATION, "s", "Agent run duration", sc.AGENT_DURATION_BUCKETS)
        self.retrieval_duration = histogram(
            sc.METRIC_RETRIEVAL_DURATION, "s", "Retrieval duration", sc.DURATION_BUCKETS)
        self.retrieval_documents = histogram(
            sc.METRIC_RETRIEVAL_DOCUMENTS, "{document}", "Documents returned per retrieval", sc.TOKEN_BUCKETS)
        self.evaluation_score = histogram(
            sc.METRIC_EVALUATION_SCORE, "1", "Scores given to conversations and traces", sc.SCORE_BUCKETS)
        self.user_satisfaction = histogram(
            sc.METRIC_USER_SATISFACTION, "1", "User feedback on a 1-5 scale", sc.SATISFACTION_BUCKETS)
        self.agent_runs = meter.create_counter(sc.METRIC_AGENT_RUNS, "{run}", "Agent runs by outcome")
        self.cost = meter.create_counter(sc.METRIC_COST, "USD", "Cost of LLM calls")
        self.tool_calls = meter.create_counter(sc.METRIC_TOOL_CALLS, "{call}", "Tool calls by outcome")
        self.moderation_events = meter.create_counter(
            sc.METRIC_MODERATION_EVENTS, "{event}", "Moderation checks by category and action")
        self.errors = meter.create_counter(sc.METRIC_ERRORS, "{error}", "Errors by type")
        self.events = meter.create_counter(sc.METRIC_EVENTS, "{event}", "Custom events by name")
        self.memory_operations = meter.create_counter(
            sc.METRIC_MEMORY_OPERATIONS, "{operation}", "Memory operations by kind and outcome")
        # The newest draft names only behind the opt-in (contracts/semconv.md).
        self.draft = DraftInstruments(meter) if sc.latest_experimental_enabled() else None
        if health is not None:
            self._register_health(meter, health)

    @staticmethod
    def _register_health(meter: Meter, health: Callable[[], Iterable[Any]]) -> None:
        def failures(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(s.failed, {"exporter": s.name}) for s in health()]

        def failed_exports(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(s.failed_batches, {"exporter": s.name}) for s in health()]

        meter.create_observable_counter(sc.METRIC_SPANS_DROPPED, [failures], "{item}",
                                        "Spans or metric batches that failed to export")
        meter.create_observable_counter(sc.METRIC_EXPORT_FAILURES, [failed_exports], "{export}",
                                        "Export calls that failed")

    def record_llm_end(self, end: Any) -> None:
        """An LLM call finished off the calling thread (``monitors/llm_end.LLMEnd``)."""
        self.record_llm_call(**end.metric_values())

    def record_llm_call(self, *, operation: str, provider: str | None, request_model: str | None,
                        response_model: str | None, duration_s: float, input_tokens: int | None,
                        output_tokens: int | None, cost_usd: float | None, error_type: str | None,
                        time_to_first_chunk_s: float | None = None, cache_read_tokens: int | None = None,
                        cache_write_tokens: int | None = None, reasoning_tokens: int | None = None) -> None:
        attributes: Attributes = {sc.GEN_AI_OPERATION_NAME: operation}
        if provider:
            attributes[sc.GEN_AI_PROVIDER_NAME] = provider
        if request_model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = request_model
        if response_model:
            attributes[sc.GEN_AI_RESPONSE_MODEL] = response_model
        self.operation_duration.record(duration_s, _with_error(dict(attributes), error_type))
        if time_to_first_chunk_s is not None:
            self.time_to_first_chunk.record(time_to_first_chunk_s, attributes)
        for token_type, count in (("input", input_tokens), ("output", output_tokens)):
            if count is not None:
                self.token_usage.record(count, {**attributes, sc.GEN_AI_TOKEN_TYPE: token_type})
        if cost_usd:
            self.cost.add(cost_usd, attributes)
        if self.draft is not None:
            self.draft.record(attributes, duration_s, error_type, {
                "input": input_tokens, "output": output_tokens, "cache_read": cache_read_tokens,
                "cache_write": cache_write_tokens, "reasoning": reasoning_tokens})

    def record_agent_run(self, *, agent_name: str | None, request_model: str | None,
                         duration_s: float, error_type: str | None) -> None:
        attributes: Attributes = {}
        if agent_name:
            attributes[sc.GEN_AI_AGENT_NAME] = agent_name
        if request_model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = request_model
        _with_error(attributes, error_type)
        self.agent_duration.record(duration_s, attributes)
        self.agent_runs.add(1, attributes)

    def record_tool_call(self, *, tool_name: str, agent_name: str | None, duration_s: float,
                         error_type: str | None) -> None:
        attributes: Attributes = {sc.GEN_AI_TOOL_NAME: tool_name}
        if agent_name:
            attributes[sc.GEN_AI_AGENT_NAME] = agent_name
        _with_error(attributes, error_type)
        self.tool_duration.record(duration_s, attributes)
        self.tool_calls.add(1, attributes)

    def record_retrieval(self, *, source: str | None, duration_s: float, documents: int | None,
                         error_type: str | None) -> None:
        attributes: Attributes = {sc.GEN_AI_DATA_SOURCE_ID: source} if source else {}
        _with_error(attributes, error_type)
        self.retrieval_duration.record(duration_s, attributes)
        if documents is not None:
            self.retrieval_documents.record(documents, attributes)

    def record_memory_operation(self, *, operation: str, store: str | None, error_type: str | None) -> None:
        attributes: Attributes = {sc.MEMORY_OPERATION: operation}
        if store:
            attributes[sc.MEMORY_STORE] = store
        self.memory_operations.add(1, _with_error(attributes, error_type))

    def record_moderation(self, *, category: str | None, action: str | None, flagged: bool) -> None:
        attributes: Attributes = {sc.MODERATION_FLAGGED: flagged}
        if category:
            attributes[sc.MODERATION_CATEGORY] = category
        if action:
            attributes[sc.MODERATION_ACTION] = action
        self.moderation_events.add(1, attributes)

    def record_evaluation(self, *, name: str, value: float, kind: str) -> None:
        self.evaluation_score.record(value, {sc.GEN_AI_EVALUATION_NAME: name, sc.EVALUATION_KIND: kind})

    def record_satisfaction(self, score: float) -> None:
        self.user_satisfaction.record(score)

    def record_error(self, error_type: str, agent_name: str | None) -> None:
        attributes: Attributes = {sc.ERROR_TYPE: error_type}
        if agent_name:
            attributes[sc.GEN_AI_AGENT_NAME] = agent_name
        self.errors.add(1, attributes)

    def record_event(self, name: str) -> None:
        self.events.add(1, {sc.EVENT_NAME: name})
