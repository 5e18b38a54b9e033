"""Every telemetry name the package emits, in one place.

Names follow the OpenTelemetry GenAI semantic conventions (released shape by default); names the
conventions do not cover live under ``agents_hub.``. Nothing else in the package spells an
attribute or metric name as a literal: import it from here.
"""

from __future__ import annotations

import os

# --- operations (gen_ai.operation.name values and span-name prefixes) ---------------------------
OP_INVOKE_AGENT = "invoke_agent"
OP_CHAT = "chat"
OP_EMBEDDINGS = "embeddings"
OP_EXECUTE_TOOL = "execute_tool"
OP_RETRIEVAL = "retrieval"
OP_GUARDRAIL = "apply_guardrail"
OP_WORKFLOW = "invoke_workflow"
MEMORY_OPERATIONS = frozenset(
    {"search_memory", "create_memory", "update_memory", "delete_memory", "upsert_memory"}
)
# Ours: zero-length marker spans for custom events, errors and evaluations (scores, feedback).
OP_EVENT = "agents_hub.event"
OP_ERROR = "agents_hub.error"
OP_EVALUATION = "agents_hub.evaluation"
# Other GenAI inference operations an LLM span may carry (the console summary counts them as model calls).
OP_TEXT_COMPLETION = "text_completion"
OP_GENERATE_CONTENT = "generate_content"
LLM_OPERATIONS = frozenset({OP_CHAT, OP_EMBEDDINGS, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT})

# --- GenAI attributes ----------------------------------------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_ID = "gen_ai.agent.id"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_REQUEST_PREFIX = "gen_ai.request."
REQUEST_PARAMETERS = frozenset(
    {
        "max_tokens", "temperature", "top_p", "top_k", "frequency_penalty",
        "presence_penalty", "stop_sequences", "seed", "stream", "choice.count",
    }
)
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_COST = "gen_ai.usage.cost"  # what Langfuse reads as total cost (USD)
GEN_AI_USAGE_COST_AMOUNT = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE = "gen_ai.usage.cost.source"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
GEN_AI_TOOL_DESCRIPTION = "gen_ai.tool.description"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"
GEN_AI_DATA_SOURCE_ID = "gen_ai.data_source.id"
GEN_AI_RETRIEVAL_QUERY_TEXT = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
GEN_AI_EVALUATION_NAME = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION = "gen_ai.evaluation.explanation"
GEN_AI_GUARDRAIL_NAME = "gen_ai.guardrail.name"  # draft
ERROR_TYPE = "error.type"
ERROR_TYPE_OTHER = "_OTHER"
USER_ID = "user.id"
USER_HASH = "user.hash"
SESSION_ID = "session.id"
# OpenInference columns that trace UIs (Phoenix, Langfuse) show for a trace's input and output.
INPUT_VALUE = "input.value"
OUTPUT_VALUE = "output.value"

# --- ours ------------------------------------------------------------------------------------------
TAGS = "agents_hub.tags"
METADATA_PREFIX = "agents_hub.metadata."
EVENT_NAME = "agents_hub.event.name"
EVENT_PROPERTIES = "agents_hub.event.properties"
ERROR_MESSAGE = "agents_hub.error.message"
ERROR_CONTEXT = "agents_hub.error.context"
OUTCOME = "agents_hub.outcome"  # success | error | unfinished
ERROR_COUNT = "agents_hub.error.count"
MODERATION_FLAGGED = "agents_hub.moderation.flagged"
MODERATION_CATEGORY = "agents_hub.moderation.category"
MODERATION_ACTION = "agents_hub.moderation.action"
MODERATION_CATEGORIES = "agents_hub.moderation.categories"
MEMORY_OPERATION = "agents_hub.memory.operation"
MEMORY_STORE = "agents_hub.memory.store"
RESULT_COUNT = "agents_hub.result.count"
RESULT_SCORES = "agents_hub.result.scores"
TIME_TO_FIRST_CHUNK = "agents_hub.time_to_first_chunk"
STREAM_ITEMS = "agents_hub.stream.items"  # items a traced generator or stream yielded
EVALUATION_TARGET = "agents_hub.evaluation.target"
EVALUATION_KIND = "agents_hub.evaluation.kind"  # score | feedback
DEPLOYMENT_ENVIRONMENT = "deployment.environment.name"

# Attributes that carry prompts, completions and tool payloads: subject to the content switch.
CONTENT_ATTRIBUTES = frozenset(
    {
        GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES, GEN_AI_SYSTEM_INSTRUCTIONS,
        GEN_AI_TOOL_CALL_ARGUMENTS, GEN_AI_TOOL_CALL_RESULT, GEN_AI_TOOL_DEFINITIONS,
        GEN_AI_RETRIEVAL_QUERY_TEXT, GEN_AI_RETRIEVAL_DOCUMENTS, INPUT_VALUE, OUTPUT_VALUE,
        EVENT_PROPERTIES,
    }
)

# --- metrics ---------------------------------------------------------------------------------------
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TOOL_DURATION = "gen_ai.execute_tool.duration"
METRIC_AGENT_DURATION = "gen_ai.invoke_agent.duration"
METRIC_AGENT_RUNS = "agents_hub.agent.runs"
METRIC_COST = "agents_hub.llm.cost"
METRIC_TOOL_CALLS = "agents_hub.tool.calls"
METRIC_MODERATION_EVENTS = "agents_hub.moderation.events"
METRIC_EVALUATION_SCORE = "agents_hub.evaluation.score"
METRIC_USER_SATISFACTION = "agents_hub.user.satisfaction"
METRIC_ERRORS = "agents_hub.errors"
METRIC_EVENTS = "agents_hub.events"
METRIC_RETRIEVAL_DURATION = "agents_hub.retrieval.duration"
METRIC_RETRIEVAL_DOCUMENTS = "agents_hub.retrieval.documents"
METRIC_MEMORY_OPERATIONS = "agents_hub.memory.operations"
METRIC_SPANS_DROPPED = "agents_hub.monitor.spans.dropped"
METRIC_EXPORT_FAILURES = "agents_hub.monitor.export.failures"
# An observable hook that replays queued measurements at collection; it never reports points.
METRIC_DEFERRED_REPLAY = "agents_hub.monitor.metrics.replay"
# Newest draft token counters, emitted only behind the opt-in.
METRIC_DRAFT_INPUT_TOKENS = "gen_ai.client.inference.usage.input_tokens"
METRIC_DRAFT_OUTPUT_TOKENS = "gen_ai.client.inference.usage.output_tokens"
METRIC_DRAFT_CACHE_READ_TOKENS = "gen_ai.client.inference.usage.cache_read.input_tokens"
METRIC_DRAFT_CACHE_WRITE_TOKENS = "gen_ai.client.inference.usage.cache_write.input_tokens"
METRIC_DRAFT_REASONING_TOKENS = "gen_ai.client.inference.usage.reasoning.output_tokens"
METRIC_DRAFT_INFERENCE_DURATION = "gen_ai.client.inference.duration"
GEN_AI_TOKEN_MODALITY = "gen_ai.token.modality"

DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
AGENT_DURATION_BUCKETS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
SCORE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0)
SATISFACTION_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0)


def latest_experimental_enabled() -> bool:
    """True when ``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for the newest GenAI draft names."""
    opt_in = os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
    return "gen_ai_latest_experimental" in {part.strip() for part in opt_in.split(",")}


def span_name(operation: str, target: str | None) -> str:
    """`{operation} {target}` per the conventions, or just the operation when target is unknown."""
    return f"{operation} {target}" if target else operation


# --- Langfuse ------------------------------------------------------------------------------------
# Attributes Langfuse's OTLP ingestion reads (langfuse/langfuse: packages/shared/src/server/otel/
# attributes.ts). Set only by the Langfuse exporter's translation step, except the trace name,
# which the LangfuseMonitor stamps when a span starts (the root's name must reach every span).
LANGFUSE_OBSERVATION_TYPE = "langfuse.observation.type"
LANGFUSE_OBSERVATION_LEVEL = "langfuse.observation.level"
LANGFUSE_OBSERVATION_STATUS_MESSAGE = "langfuse.observation.status_message"
LANGFUSE_OBSERVATION_INPUT = "langfuse.observation.input"
LANGFUSE_OBSERVATION_OUTPUT = "langfuse.observation.output"
LANGFUSE_OBSERVATION_MODEL_NAME = "langfuse.observation.model.name"
LANGFUSE_OBSERVATION_MODEL_PARAMETERS = "langfuse.observation.model.parameters"
LANGFUSE_OBSERVATION_USAGE_DETAILS = "langfuse.observation.usage_details"
LANGFUSE_OBSERVATION_COST_DETAILS = "langfuse.observation.cost_details"
LANGFUSE_OBSERVATION_COMPLETION_START_TIME = "langfuse.observation.completion_start_time"
LANGFUSE_TRACE_NAME = "langfuse.trace.name"
LANGFUSE_TRACE_TAGS = "langfuse.trace.tags"
LANGFUSE_TRACE_METADATA_PREFIX = "langfuse.trace.metadata."
LANGFUSE_USER_ID = "langfuse.user.id"
LANGFUSE_SESSION_ID = "langfuse.session.id"
LANGFUSE_RELEASE = "langfuse.release"
LANGFUSE_ENVIRONMENT = "langfuse.environment"
# Trace-metadata key for the app-level session id (the Langfuse session is the conversation).
LANGFUSE_APP_SESSION_METADATA_KEY = "session_id"
# Keys of langfuse.observation.usage_details / cost_details (Langfuse's usage and price schema).
LANGFUSE_USAGE_INPUT = "input"
LANGFUSE_USAGE_OUTPUT = "output"
LANGFUSE_USAGE_TOTAL = "total"
LANGFUSE_USAGE_INPUT_CACHED = "input_cached_tokens"
LANGFUSE_USAGE_INPUT_CACHE_CREATION = "input_cache_creation"
LANGFUSE_USAGE_OUTPUT_REASONING = "output_reasoning_tokens"
LANGFUSE_COST_TOTAL = "total"
# gen_ai.operation.name values Langfuse maps to a generation (besides chat), and the one memory
# operation that reads (shown as a retriever).
LANGFUSE_GENERATION_OPERATIONS = frozenset({OP_CHAT, "completion", "text_completion", "generate_content", "generate"})
OP_SEARCH_MEMORY = "search_memory"
