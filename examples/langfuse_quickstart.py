"""Langfuse quickstart: the original Agents Hub monitoring README, on agents_hub_monitoring.

Set your keys (Langfuse project settings -> API keys) and run::

    export LANGFUSE_PUBLIC_KEY=pk-lf-...  LANGFUSE_SECRET_KEY=sk-lf-...
    export LANGFUSE_BASE_URL=https://cloud.langfuse.com   # or https://us.cloud.langfuse.com, or self-hosted
    agents-hub-monitoring doctor --send-test-trace        # optional: check the setup first
    python examples/langfuse_quickstart.py

A small scripted agent stands in for an Agents Hub ``Agent`` (pass ``monitor=langfuse_monitor``
to a real one and it calls the same hooks). In Langfuse you get one trace per agent run, all in
the session ``user123`` (the conversation id), with the scores and feedback on that session.
"""

from __future__ import annotations

import asyncio
import os
import sys

from agents_hub_monitoring.monitors.langfuse import LangfuseMonitor


async def run_agent(monitor: LangfuseMonitor, question: str, context: dict[str, str]) -> str:
    """What an agent run records: the run, a moderation check, an LLM call and a tool call."""
    with monitor.agent_run("monitored_agent", context=context, input=question) as run:
        with monitor.moderation_check("input-moderation", input=question) as check:
            check.set_result(False)
        with monitor.llm_call("gpt-4o-mini", provider="openai", system="You are a helpful assistant.",
                              messages=[{"role": "user", "content": question}],
                              parameters={"temperature": 0.2, "max_tokens": 200}) as call:
            call.set_usage(input_tokens=42, output_tokens=12, cache_read_input_tokens=0)
            call.set_response(model="gpt-4o-mini-2024-07-18", finish_reasons=["tool_calls"])
        with monitor.tool_call("lookup_capital", arguments={"country": "France"}) as tool:
            tool.set_result({"capital": "Paris"})
        answer = "The capital of France is Paris."
        run.set_output(answer)
        return answer


async def some_operation() -> None:
    raise TimeoutError("the inventory service did not answer in time")


async def main() -> int:
    if not (os.environ.get("LANGFUSE_PUBLIC_KEY") and os.environ.get("LANGFUSE_SECRET_KEY")):
        print("Set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (and LANGFUSE_BASE_URL) first.", file=sys.stderr)
        return 1
    # Keys and host come from the LANGFUSE_* variables; arguments would take precedence.
    langfuse_monitor = LangfuseMonitor(release="1.0.0")
    with langfuse_monitor:  # flushes spans and scores on exit, bounded even if Langfuse is down
        response = await run_agent(langfuse_monitor, "What is the capital of France?", context={
            "conversation_id": "user123",
            "user_id": "user456",
            "session_id": "session789",
            "tags": ["quickstart"],
        })
        print(response)

        await langfuse_monitor.score_conversation(
            conversation_id="user123", name="helpfulness", value=0.9, comment="Very helpful response")
        await langfuse_monitor.add_user_feedback(
            conversation_id="user123", score=5,
            comment="The agent was very helpful and provided exactly what I needed.")

        await langfuse_monitor.track_event(
            name="user_signup", properties={"user_id": "user456", "plan": "premium", "referral_source": "google"})
        try:
            await some_operation()
        except Exception as e:
            await langfuse_monitor.track_error(error=e, context={"operation": "some_operation", "user_id": "user456"})

        ok = langfuse_monitor.flush()
    print("Sent to Langfuse." if ok else "Some telemetry was not delivered; run `agents-hub-monitoring doctor`.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
