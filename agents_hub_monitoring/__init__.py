"""OpenTelemetry-based monitoring for LLM agents.

Monitors are thin facades that emit OTel spans and metrics (latency, tokens, cost, tool calls,
moderation, scores); exporters route them to Langfuse, the console, or any OTLP backend.
"""

from agents_hub_monitoring._version import __version__
from agents_hub_monitoring.instrument import (
    agent,
    get_default_monitor,
    instrument_threads,
    llm,
    observe,
    retrieval,
    set_default_monitor,
    tool,
    uninstrument_threads,
)
from agents_hub_monitoring.monitors.base import BaseMonitor
from agents_hub_monitoring.monitors.composite import CompositeMonitor, combine
from agents_hub_monitoring.monitors.console import ConsoleMonitor
from agents_hub_monitoring.monitors.langfuse import LangfuseMonitor
from agents_hub_monitoring.monitors.operations import (
    AgentRunHandle,
    LLMCallHandle,
    MemoryHandle,
    ModerationHandle,
    RetrievalHandle,
    ToolCallHandle,
)
from agents_hub_monitoring.monitors.otlp import OTLPMonitor
from agents_hub_monitoring.pricing import ModelPrice, PriceCalculator
from agents_hub_monitoring.privacy import PrivacySettings
from agents_hub_monitoring.telemetry.context import (
    ConversationContext,
    current_conversation,
    propagate_context,
)

__all__ = [
    "AgentRunHandle",
    "BaseMonitor",
    "CompositeMonitor",
    "ConsoleMonitor",
    "ConversationContext",
    "LLMCallHandle",
    "LangfuseMonitor",
    "MemoryHandle",
    "ModelPrice",
    "ModerationHandle",
    "OTLPMonitor",
    "PriceCalculator",
    "PrivacySettings",
    "RetrievalHandle",
    "ToolCallHandle",
    "__version__",
    "agent",
    "combine",
    "current_conversation",
    "get_default_monitor",
    "instrument_threads",
    "llm",
    "observe",
    "propagate_context",
    "retrieval",
    "set_default_monitor",
    "tool",
    "uninstrument_threads",
]
