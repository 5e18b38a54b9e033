"""Auto-instrumentation: decorators for every call shape, thread context propagation.

``@monitor.agent`` / ``@monitor.tool`` / ``@monitor.llm`` / ``@monitor.retrieval`` /
``@monitor.observe`` live on every monitor; the module-level versions here use the default monitor
(``set_default_monitor``). ``instrument_threads()`` makes thread pools and threads carry the
caller's span and conversation.
"""

from __future__ import annotations

from agents_hub_monitoring.instrument.decorators import (
    DecoratorsMixin,
    agent,
    get_default_monitor,
    llm,
    observe,
    retrieval,
    set_default_monitor,
    tool,
)
from agents_hub_monitoring.instrument.threads import instrument_threads, threads_instrumented, uninstrument_threads

__all__ = [
    "DecoratorsMixin",
    "agent",
    "get_default_monitor",
    "instrument_threads",
    "llm",
    "observe",
    "retrieval",
    "set_default_monitor",
    "threads_instrumented",
    "tool",
    "uninstrument_threads",
]
