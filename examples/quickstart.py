"""The seed README's usage with the console monitor: conversation tracking, scores, feedback,
custom events, errors, and the Agents Hub hooks as the Agent calls them.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import asyncio

from agents_hub_monitoring import ConsoleMonitor


async def some_operation() -> None:
    raise TimeoutError("the operation timed out")


async def main() -> None:
    monitor = ConsoleMonitor(log_level="INFO", include_timestamps=True)

    # What the Agents Hub Agent does in agent.run("What is the capital of France?", context=...)
    context = {"conversation_id": "user123", "user_id": "user456", "session_id": "session789"}
    async with monitor.conversation(session_id=context["session_id"]):
        await monitor.start_conversation(conversation_id="user123", agent_name="monitored_agent",
                                         user_id="user456", metadata=None)
        await monitor.track_user_message(message="What is the capital of France?", conversation_id="user123",
                                         agent_name="monitored_agent", user_id="user456", metadata=None)
        await monitor.track_llm_call(provider="OpenAIProvider", model="gpt-4o-mini",
                                     messages=[{"role": "user", "content": "What is the capital of France?"}],
                                     conversation_id="user123", agent_name="monitored_agent", user_id="user456",
                                     input_tokens=None)
        await monitor.track_llm_result(provider="OpenAIProvider", model="gpt-4o-mini", conversation_id="user123",
                                       agent_name="monitored_agent", user_id="user456", input_tokens=None,
                                       result={"content": "Paris.", "model": "gpt-4o-mini",
                                               "usage": {"prompt_tokens": 14, "completion_tokens": 3}})
        await monitor.track_assistant_message(message="Paris.", conversation_id="user123",
                                              agent_name="monitored_agent", user_id="user456", metadata=None)

    await monitor.score_conversation(conversation_id="user123", name="helpfulness", value=0.9,
                                     comment="Very helpful response")
    await monitor.add_user_feedback(conversation_id="user123", score=5,
                                    comment="The agent was very helpful and provided exactly what I needed.")
    await monitor.track_event(name="user_signup",
                              properties={"user_id": "user456", "plan": "premium", "referral_source": "google"})
    try:
        await some_operation()
    except Exception as e:
        await monitor.track_error(error=e, context={"operation": "some_operation", "user_id": "user456"})
    monitor.shutdown()  # prints the summary


if __name__ == "__main__":
    asyncio.run(main())
