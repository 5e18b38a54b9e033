"""``agents-hub-monitoring demo``: several scripted conversations, traced and summarised.

Prints each trace as a tree and a summary table. With ``LANGFUSE_PUBLIC_KEY``/``_SECRET_KEY`` set
it also sends to Langfuse; with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, to that OTLP endpoint.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, TextIO

from agents_hub_monitoring.demo.scripted import SCRIPT, ScriptedAgent
from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["build_demo_monitor", "run_demo"]


def build_demo_monitor(stream: TextIO | None = None, *, use_rich: bool | None = None) -> tuple[Any, Any]:
    """(monitor, console): the console always; Langfuse and OTLP when their variables are set."""
    from agents_hub_monitoring.monitors.composite import combine
    from agents_hub_monitoring.monitors.console import ConsoleMonitor

    console = ConsoleMonitor(log_level="INFO", include_timestamps=True, stream=stream, use_rich=use_rich,
                             service_name="agents-hub-demo", release="demo")
    monitors: list[BaseMonitor] = [console]
    if os.environ.get("LANGFUSE_PUBLIC_KEY") and os.environ.get("LANGFUSE_SECRET_KEY"):
        from agents_hub_monitoring.monitors.langfuse import LangfuseMonitor

        monitors.append(LangfuseMonitor(release="demo"))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from agents_hub_monitoring.monitors.otlp import OTLPMonitor

        monitors.append(OTLPMonitor(service_name="agents-hub-demo", release="demo"))
    monitor = monitors[0] if len(monitors) == 1 else combine(*monitors, service_name="agents-hub-demo",
                                                              release="demo")
    return monitor, console


async def _hooks_turn(monitor: Any) -> None:
    """One turn driven exactly as the Agents Hub ``Agent`` drives a monitor (hooks, by keyword)."""
    cid, user = "conv-agents-hub", "user-hub"
    await monitor.start_conversation(conversation_id=cid, agent_name="hub_agent", user_id=user, metadata=None)
    await monitor.track_user_message(message="Look up order 42", conversation_id=cid, agent_name="hub_agent",
                                     user_id=user, metadata=None)
    await monitor.track_llm_call(provider="OpenAIProvider", model="gpt-4o-mini",
                                 messages=[{"role": "user", "content": "Look up order 42"}],
                                 conversation_id=cid, agent_name="hub_agent", user_id=user, input_tokens=None)
    await asyncio.sleep(0.01)
    await monitor.track_llm_result(
        provider="OpenAIProvider", model="gpt-4o-mini", conversation_id=cid, agent_name="hub_agent", user_id=user,
        input_tokens=None, result={"content": None, "model": "gpt-4o-mini", "usage": {
            "prompt_tokens": 85, "completion_tokens": 14, "total_tokens": 99},
            "tool_calls": [{"id": "c1", "function": {"name": "orders", "arguments": '{"id": 42}'}}]})
    await monitor.track_tool_usage(tool_name="orders", input_data={"id": 42}, output_data=None,
                                   conversation_id=cid, agent_name="hub_agent", user_id=user)
    await asyncio.sleep(0.005)
    await monitor.track_tool_usage(tool_name="orders", input_data={"id": 42}, output_data={"status": "shipped"},
                                   conversation_id=cid, agent_name="hub_agent", user_id=user)
    await monitor.track_assistant_message(message="Order 42 has shipped.", conversation_id=cid,
                                          agent_name="hub_agent", user_id=user, metadata=None)


async def _conversations(monitor: Any) -> None:
    agent = ScriptedAgent(monitor)
    for index, (conversation_id, turns) in enumerate(SCRIPT.items()):
        context = {"conversation_id": conversation_id, "user_id": f"user-{index + 1}",
                   "session_id": f"session-{index + 1}", "tags": ["demo"]}
        for turn in turns:
            await agent.run(turn, context)
    await _hooks_turn(monitor)
    await monitor.track_event(name="user_signup", properties={"user_id": "user-1", "plan": "premium"})
    try:
        raise ConnectionError("CRM unreachable")
    except ConnectionError as error:
        await monitor.track_error(error=error, context={"operation": "sync_crm", "user_id": "user-2"})
    await monitor.score_conversation(conversation_id="conv-paris", name="helpfulness", value=0.9,
                                     comment="Very helpful response")
    await monitor.add_user_feedback(conversation_id="conv-paris", score=5, comment="Exactly what I needed.")
    await monitor.add_user_feedback(conversation_id="conv-maths", score=2, comment="Could not divide.")


def run_demo(stream: TextIO | None = None, *, use_rich: bool | None = None) -> int:
    """Run the scripted conversations; print trees as they finish and the summary at the end."""
    monitor, _console = build_demo_monitor(stream, use_rich=use_rich)
    try:
        asyncio.run(_conversations(monitor))
    finally:
        monitor.shutdown()  # the console monitor prints its summary table at shutdown
    return 0
