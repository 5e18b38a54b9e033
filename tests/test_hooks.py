"""The Agents Hub Agent's hook sequence, replayed call for call, becomes one trace per turn."""

from __future__ import annotations

import asyncio

import pytest

from agents_hub_monitoring.testing import capture

CID = "conv-1"


async def _turn_with_tool(monitor, *, tool_fails: bool = False, unknown_tool: bool = False) -> None:
    """What Agent.run() awaits for a turn whose LLM asks for one tool (same kwargs, same order)."""
    context = {"conversation_id": CID, "user_id": "user-7"}
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "weather in Paris?"}]
    await monitor.start_conversation(conversation_id=CID, agent_name="weather", user_id="user-7", metadata=None)
    await monitor.track_user_message(message="weather in Paris?", conversation_id=CID, agent_name="weather",
                                     user_id="user-7", metadata=None)
    await monitor.track_llm_call(provider="OpenAIProvider", model="gpt-4o", messages=messages,
                                 conversation_id=CID, agent_name="weather", user_id="user-7", input_tokens=None)
    messages.append({"role": "assistant", "content": "mutated after the call"})  # the Agent reuses the list
    result = {"content": None, "model": "gpt-4o-2024-08-06", "finish_reason": "tool_calls",
              "tool_calls": [{"id": "call_1", "type": "function",
                              "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}],
              "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}}
    await monitor.track_llm_result(provider="OpenAIProvider", model="gpt-4o", result=result, conversation_id=CID,
                                   agent_name="weather", user_id="user-7", input_tokens=None)
    if unknown_tool:
        await monitor.track_error(error="Tool 'nope' not found", conversation_id=CID, agent_name="weather")
    else:
        await monitor.track_tool_usage(tool_name="weather", input_data={"city": "Paris"}, output_data=None,
                                       conversation_id=CID, agent_name="weather", user_id=context["user_id"])
        if tool_fails:
            await monitor.track_error(error="Error running tool 'weather': timeout", conversation_id=CID,
                                      agent_name="weather", user_id="user-7")
        else:
            await monitor.track_tool_usage(tool_name="weather", input_data={"city": "Paris"},
                                           output_data={"temp_c": 18}, conversation_id=CID, agent_name="weather",
                                           user_id="user-7")
    await monitor.track_assistant_message(message="18°C and sunny.", conversation_id=CID, agent_name="weather",
                                          user_id="user-7", metadata=None)


async def test_turn_with_llm_and_tool_is_one_trace(monitor, telemetry):
    await _turn_with_tool(monitor)
    assert telemetry.tree() == [(0, "invoke_agent weather"), (1, "chat gpt-4o"), (1, "execute_tool weather")]
    root, llm, tool = (telemetry.span(n) for n in ("invoke_agent weather", "chat gpt-4o", "execute_tool weather"))
    assert root["status"] == "UNSET" and root["attributes"]["agents_hub.outcome"] == "success"
    assert root["attributes"]["input.value"] == "weather in Paris?"
    assert root["attributes"]["output.value"] == "18°C and sunny."
    for span in (root, llm, tool):
        assert span["attributes"]["gen_ai.conversation.id"] == CID
        assert span["attributes"]["user.id"] == "user-7"
        assert span["trace_id"] == root["trace_id"]
    attrs = llm["attributes"]
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.usage.input_tokens"] == 50 and attrs["gen_ai.usage.output_tokens"] == 12
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["gen_ai.usage.cost"] > 0
    assert "mutated after the call" not in attrs["gen_ai.input.messages"]  # copied at call time
    assert '"type":"tool_call"' in attrs["gen_ai.output.messages"]
    assert tool["attributes"]["gen_ai.tool.call.arguments"] == '{"city":"Paris"}'
    assert tool["attributes"]["gen_ai.tool.call.result"] == '{"temp_c":18}'
    # children end inside the root, in order
    assert root["start_time"] <= llm["start_time"] <= llm["end_time"] <= tool["start_time"]
    assert tool["end_time"] <= root["end_time"]
    (runs,) = telemetry.metric_points("agents_hub.agent.runs")
    assert runs["attributes"] == {"gen_ai.agent.name": "weather"} and runs["value"] == 1


async def test_failing_tool_marks_the_tool_span_and_counts_the_error(monitor, telemetry):
    await _turn_with_tool(monitor, tool_fails=True)
    assert telemetry.tree() == [(0, "invoke_agent weather"), (1, "chat gpt-4o"), (1, "execute_tool weather")]
    tool = telemetry.span("execute_tool weather")
    assert tool["status"] == "ERROR" and tool["status_message"] == "Error running tool 'weather': timeout"
    assert tool["attributes"]["error.type"] == "_OTHER"
    root = telemetry.span("invoke_agent weather")
    assert root["status"] == "UNSET" and root["attributes"]["agents_hub.error.count"] == 1
    (errors,) = telemetry.metric_points("agents_hub.errors")
    assert errors["attributes"] == {"error.type": "_OTHER", "gen_ai.agent.name": "weather"}
    (tool_calls,) = telemetry.metric_points("agents_hub.tool.calls")
    assert tool_calls["attributes"]["error.type"] == "_OTHER"


async def test_unknown_tool_becomes_an_error_record_under_the_root(monitor, telemetry):
    await _turn_with_tool(monitor, unknown_tool=True)
    assert telemetry.tree() == [(0, "invoke_agent weather"), (1, "chat gpt-4o"), (1, "error _OTHER")]
    record = telemetry.span("error _OTHER")
    assert record["status"] == "ERROR" and record["status_message"] == "Tool 'nope' not found"
    assert record["attributes"]["gen_ai.conversation.id"] == CID
    assert record["attributes"]["user.id"] == "user-7"  # taken from the open turn


async def test_llm_failure_then_next_turn_closes_the_unanswered_turn(monitor, telemetry):
    await monitor.start_conversation(conversation_id=CID, agent_name="a", user_id="u", metadata=None)
    await monitor.track_llm_call(provider="AnthropicProvider", model="claude-3-5-sonnet-latest", messages=[],
                                 conversation_id=CID, agent_name="a", user_id="u", input_tokens=None)
    await monitor.track_error(error="rate limited", conversation_id=CID, agent_name="a", user_id="u")
    # the Agent re-raises; the user retries: a new turn of the same conversation
    await monitor.start_conversation(conversation_id=CID, agent_name="a", user_id="u", metadata=None)
    await monitor.track_assistant_message(message="ok", conversation_id=CID, agent_name="a", user_id="u")
    first, second = [s for s in telemetry.spans() if s["name"] == "invoke_agent a"]
    assert first["status"] == "ERROR" and first["attributes"]["error.type"] == "unfinished"
    assert second["status"] == "UNSET" and second["trace_id"] != first["trace_id"]
    llm = telemetry.span("chat claude-3-5-sonnet-latest")
    assert llm["status"] == "ERROR" and llm["parent_span_id"] == first["span_id"]
    assert llm["attributes"]["gen_ai.provider.name"] == "anthropic"


async def test_end_conversation_flush_and_shutdown_close_open_turns():
    with capture() as (monitor, telemetry):
        await monitor.start_conversation(conversation_id="x", agent_name="a")
        await monitor.track_llm_call(provider="openai", model="gpt-4o", messages=[], conversation_id="x")
        await monitor.end_conversation(conversation_id="x")
        await monitor.start_conversation(conversation_id="y", agent_name="b")
        monitor.flush()
        assert [s["name"] for s in telemetry.spans()] == ["chat gpt-4o", "invoke_agent a", "invoke_agent b"]
        assert telemetry.span("chat gpt-4o")["attributes"]["agents_hub.outcome"] == "unfinished"
        assert telemetry.span("invoke_agent b")["status"] == "ERROR"


async def test_open_turns_are_bounded_in_number():
    with capture(max_open_turns=3) as (monitor, telemetry):
        async def abandoned_run(index: int) -> None:  # each in its own task: none supersedes another
            await monitor.start_conversation(conversation_id=f"c{index}", agent_name="leaky")

        await asyncio.gather(*(abandoned_run(index) for index in range(10)))
        assert len(monitor._turns) == 3
        assert len(telemetry.spans()) == 7  # displaced turns were ended, not leaked


async def test_concurrent_runs_with_the_same_conversation_id_keep_their_own_turns(monitor, telemetry):
    """The Agent defaults conversation_id to "default": two users' runs must not mix."""
    async def run(user: str, delay: float) -> None:
        await monitor.start_conversation(conversation_id="default", agent_name="bank", user_id=user)
        await monitor.track_user_message(message=f"balance for {user}", conversation_id="default")
        await monitor.track_tool_usage(tool_name="lookup", input_data={"account": user}, output_data=None,
                                       conversation_id="default", user_id=user)
        await asyncio.sleep(delay)
        await monitor.track_tool_usage(tool_name="lookup", input_data={"account": user},
                                       output_data={"balance": len(user)}, conversation_id="default", user_id=user)
        await monitor.track_assistant_message(message=f"done {user}", conversation_id="default")

    await asyncio.gather(run("alice", 0.02), run("bob", 0.0))
    roots = {s["attributes"]["user.id"]: s for s in telemetry.spans() if s["name"] == "invoke_agent bank"}
    assert set(roots) == {"alice", "bob"}
    for user, root in roots.items():
        assert root["status"] == "UNSET" and root["attributes"]["output.value"] == f"done {user}"
        (tool,) = telemetry.children(root)
        assert tool["attributes"]["user.id"] == user
        assert tool["attributes"]["gen_ai.tool.call.arguments"] == f'{{"account":"{user}"}}'


async def test_agent_called_from_a_tool_nests_under_that_tool(monitor, telemetry):
    await monitor.start_conversation(conversation_id="c", agent_name="orchestrator")
    await monitor.track_tool_usage(tool_name="ask_expert", input_data={"q": 1}, output_data=None, conversation_id="c")
    await monitor.start_conversation(conversation_id="c", agent_name="expert")  # the tool runs another agent
    await monitor.track_assistant_message(message="expert answer", conversation_id="c")
    await monitor.track_tool_usage(tool_name="ask_expert", input_data={"q": 1}, output_data="expert answer",
                                   conversation_id="c")
    await monitor.track_assistant_message(message="final", conversation_id="c")
    assert telemetry.tree() == [(0, "invoke_agent orchestrator"), (1, "execute_tool ask_expert"),
                                (2, "invoke_agent expert")]
    assert all(s["status"] == "UNSET" for s in telemetry.spans())


async def test_same_tool_in_parallel_with_different_arguments(monitor, telemetry):
    await monitor.start_conversation(conversation_id="p", agent_name="a")
    for city in ("Paris", "Rome"):
        await monitor.track_tool_usage(tool_name="weather", input_data={"city": city}, output_data=None,
                                       conversation_id="p")
    for city in ("Paris", "Rome"):
        await monitor.track_tool_usage(tool_name="weather", input_data={"city": city}, output_data=f"sun in {city}",
                                       conversation_id="p")
    await monitor.track_assistant_message(message="ok", conversation_id="p")
    tools = [s for s in telemetry.spans() if s["name"] == "execute_tool weather"]
    assert sorted(t["attributes"]["gen_ai.tool.call.result"] for t in tools) == ["sun in Paris", "sun in Rome"]
    for tool in tools:
        assert tool["attributes"]["gen_ai.tool.call.result"].endswith(tool["attributes"]["gen_ai.tool.call.arguments"]
                                                                      .split('"')[3])


def test_hooks_work_without_await_and_return_ids(monitor, telemetry):
    cid = monitor.start_conversation(conversation_id=None, agent_name="sync").id
    assert cid  # generated
    span_id = monitor.track_assistant_message(message="hi", conversation_id=cid).id
    assert span_id == telemetry.span("invoke_agent sync")["span_id"]


@pytest.mark.parametrize("tool_output", [None, 0, ""])
async def test_tool_returning_falsy_output_still_closes_its_span(monitor, telemetry, tool_output):
    await monitor.start_conversation(conversation_id="f", agent_name="a")
    await monitor.track_tool_usage(tool_name="t", input_data={"x": 1}, output_data=None, conversation_id="f")
    await monitor.track_tool_usage(tool_name="t", input_data={"x": 1}, output_data=tool_output, conversation_id="f")
    await monitor.track_assistant_message(message="done", conversation_id="f")
    assert telemetry.tree() == [(0, "invoke_agent a"), (1, "execute_tool t")]
