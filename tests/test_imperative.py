"""The original module's imperative API, as the seed README uses it."""

from __future__ import annotations

import pytest

from agents_hub_monitoring import BaseMonitor
from agents_hub_monitoring.testing import capture


async def test_seed_custom_event(monitor, telemetry):
    await monitor.track_event(name="user_signup",
                              properties={"user_id": "user456", "plan": "premium", "referral_source": "google"})
    event = telemetry.span("user_signup")
    assert event["attributes"]["agents_hub.event.name"] == "user_signup"
    assert event["attributes"]["agents_hub.event.properties"] == (
        '{"user_id":"user456","plan":"premium","referral_source":"google"}')
    assert event["start_time"] == event["end_time"]
    (count,) = telemetry.metric_points("agents_hub.events")
    assert count["attributes"] == {"agents_hub.event.name": "user_signup"} and count["value"] == 1


async def test_event_inside_a_span_is_also_a_span_event(monitor, telemetry):
    with monitor.agent_run("a"):
        await monitor.track_event("checkpoint", {"step": 2})
    run = telemetry.span("invoke_agent a")
    assert [e["name"] for e in run["events"]] == ["checkpoint"]
    assert telemetry.span("checkpoint")["parent_span_id"] == run["span_id"]


async def test_seed_track_error_with_exception_and_context(monitor, telemetry):
    async def some_operation() -> None:
        raise TimeoutError("upstream took too long")

    try:
        await some_operation()
    except Exception as e:
        await monitor.track_error(error=e, context={"operation": "some_operation", "user_id": "user456"})
    record = telemetry.span("error TimeoutError")
    assert record["status"] == "ERROR" and record["status_message"] == "TimeoutError: upstream took too long"
    assert record["attributes"]["error.type"] == "TimeoutError"
    assert record["attributes"]["user.id"] == "user456"
    assert record["attributes"]["agents_hub.error.context"] == '{"operation":"some_operation","user_id":"user456"}'
    assert record["events"][0]["attributes"]["exception.type"] == "TimeoutError"
    (errors,) = telemetry.metric_points("agents_hub.errors")
    assert errors["attributes"] == {"error.type": "TimeoutError"}


async def test_seed_score_and_feedback(monitor, telemetry):
    await monitor.score_conversation(conversation_id="user123", name="helpfulness", value=0.9,
                                     comment="Very helpful response")
    await monitor.add_user_feedback(conversation_id="user123", score=5,
                                    comment="The agent was very helpful and provided exactly what I needed.")
    score = telemetry.span("evaluation helpfulness")
    assert score["attributes"] == {
        "gen_ai.operation.name": "agents_hub.evaluation", "gen_ai.evaluation.name": "helpfulness",
        "agents_hub.evaluation.kind": "score", "gen_ai.evaluation.score.value": 0.9,
        "gen_ai.evaluation.explanation": "Very helpful response", "gen_ai.conversation.id": "user123",
    }
    feedback = telemetry.span("evaluation user_feedback")
    assert feedback["attributes"]["gen_ai.evaluation.score.value"] == 5.0
    assert feedback["attributes"]["agents_hub.evaluation.kind"] == "feedback"
    (satisfaction,) = telemetry.metric_points("agents_hub.user.satisfaction")
    assert satisfaction["count"] == 1 and satisfaction["sum"] == 5.0
    points = telemetry.metric_points("agents_hub.evaluation.score")
    scores = {p["attributes"]["gen_ai.evaluation.name"]: p for p in points}
    assert scores["helpfulness"]["sum"] == pytest.approx(0.9) and scores["user_feedback"]["sum"] == 5.0


@pytest.mark.parametrize("value, data_type", [(float("nan"), None), ("good", "NUMERIC"), (2, "BOOLEAN"),
                                              (0.5, "CATEGORICAL"), (None, None), ("", None), ([1], None)])
def test_invalid_score_values_raise_a_clear_value_error(monitor, value, data_type):
    with pytest.raises(ValueError, match="score"):
        monitor.score_conversation("c", "quality", value, data_type=data_type)


@pytest.mark.parametrize("score", [0, 6, 4.5e9, float("nan"), "five", True])
def test_feedback_outside_one_to_five_is_rejected(monitor, score):
    with pytest.raises(ValueError, match="1-5"):
        monitor.add_user_feedback("c", score)


def test_categorical_and_boolean_scores(monitor, telemetry):
    monitor.score_conversation("c", "tone", "friendly")
    monitor.score_conversation("c", "resolved", True)
    assert telemetry.span("evaluation tone")["attributes"]["gen_ai.evaluation.score.label"] == "friendly"
    assert telemetry.span("evaluation resolved")["attributes"]["gen_ai.evaluation.score.value"] == 1.0


async def test_track_agent_run_and_moderation_after_the_fact(monitor, telemetry):
    await monitor.track_agent_run(agent_name="summariser", input="long text", output="short", duration_s=1.5,
                                  context={"conversation_id": "c2", "user_id": "u2"}, model="gpt-4o")
    await monitor.track_agent_run(agent_name="summariser", success=False, latency_ms=250)
    await monitor.track_moderation_event(category="violence", action="block", content="bad words")
    ok, failed = [s for s in telemetry.spans() if s["name"] == "invoke_agent summariser"]
    assert ok["duration_s"] == pytest.approx(1.5, abs=1e-6) and ok["attributes"]["user.id"] == "u2"
    assert failed["status"] == "ERROR" and failed["duration_s"] == pytest.approx(0.25, abs=1e-6)
    durations = telemetry.metric_points("gen_ai.invoke_agent.duration", gen_ai__agent__name="summariser")
    assert sum(p["sum"] for p in durations) == pytest.approx(1.75)
    guard = telemetry.span("apply_guardrail moderation")
    assert guard["attributes"]["agents_hub.moderation.flagged"] is True
    assert guard["attributes"]["input.value"] == "bad words"


def test_seed_custom_monitor_overrides_hooks():
    """The seed's CustomMonitor: subclass, call super().__init__(name=...), override async hooks."""
    sent: list[tuple[str, dict]] = []

    class CustomMonitor(BaseMonitor):
        def __init__(self, api_key: str, endpoint: str):
            super().__init__(name="custom_monitor")
            self.api_key = api_key
            self.endpoint = endpoint

        async def track_llm_call(self, **kwargs):
            await self._send_data("llm_call", kwargs)

        async def track_agent_run(self, **kwargs):
            await self._send_data("agent_run", kwargs)

        async def _send_data(self, event_type, data):
            sent.append((event_type, data))

    import asyncio

    monitor = CustomMonitor(api_key="k", endpoint="https://example.invalid")
    asyncio.run(monitor.track_llm_call(model="gpt-4o", provider="openai"))
    asyncio.run(monitor.track_agent_run(agent_name="x"))
    assert sent == [("llm_call", {"model": "gpt-4o", "provider": "openai"}), ("agent_run", {"agent_name": "x"})]
    monitor.shutdown()


def test_tracked_results_are_awaitable_or_plain(monitor):
    result = monitor.track_event("e")
    assert isinstance(result.id, str) and len(result.id) == 16


def test_monitor_as_context_manager_flushes_and_shuts_down():
    with capture() as (monitor, telemetry), monitor:
        monitor.track_event("inside")
    assert telemetry.span_names() == ["inside"]
    assert monitor._closed
