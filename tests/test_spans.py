"""Each span API: exact names, attributes, parentage and the metrics recorded at its end."""

from __future__ import annotations

import asyncio

import pytest

from agents_hub_monitoring import ModelPrice
from agents_hub_monitoring.testing import capture


def test_agent_run_with_llm_and_tool_forms_one_trace(monitor, telemetry):
    with monitor.agent_run("planner", context={"conversation_id": "c1", "user_id": "u1",
                                               "session_id": "s1"}, input="plan a trip") as run:
        with monitor.llm_call("gpt-4o", provider="openai", messages=[{"role": "user", "content": "hi"}],
                              parameters={"temperature": 0.2, "max_tokens": 100}) as call:
            call.set_usage(input_tokens=120, output_tokens=30, cache_read_input_tokens=20)
            call.set_response(model="gpt-4o-2024-08-06", response_id="resp-1", finish_reasons=["stop"])
            call.set_output("Sure.")
        with monitor.tool_call("search", arguments={"q": "paris"}, call_id="call-1") as tool:
            tool.set_result({"hits": 3})
        run.set_output("Done")

    assert telemetry.tree() == [(0, "invoke_agent planner"), (1, "chat gpt-4o"), (1, "execute_tool search")]
    root, llm, tool = (telemetry.span(n) for n in ("invoke_agent planner", "chat gpt-4o", "execute_tool search"))
    assert {root["trace_id"]} == {llm["trace_id"], tool["trace_id"]}
    assert root["kind"] == "INTERNAL" and llm["kind"] == "CLIENT"
    assert root["attributes"] == {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
        "input.value": "plan a trip", "output.value": "Done", "agents_hub.outcome": "success",
        "gen_ai.conversation.id": "c1", "user.id": "u1", "session.id": "s1",
    }
    attrs = llm["attributes"]
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.response.id"] == "resp-1"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.request.temperature"] == 0.2 and attrs["gen_ai.request.max_tokens"] == 100
    assert attrs["gen_ai.usage.input_tokens"] == 120 and attrs["gen_ai.usage.output_tokens"] == 30
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 20
    assert attrs["gen_ai.input.messages"] == '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'
    assert attrs["gen_ai.output.messages"] == '[{"role":"assistant","parts":[{"type":"text","content":"Sure."}]}]'
    assert attrs["gen_ai.usage.cost"] > 0 and attrs["gen_ai.usage.cost.source"] == "local"
    assert attrs["gen_ai.conversation.id"] == "c1" and attrs["user.id"] == "u1"
    assert tool["attributes"]["gen_ai.tool.name"] == "search"
    assert tool["attributes"]["gen_ai.tool.call.id"] == "call-1"
    assert tool["attributes"]["gen_ai.tool.call.arguments"] == '{"q":"paris"}'
    assert tool["attributes"]["gen_ai.tool.call.result"] == '{"hits":3}'
    assert root["resource"]["service.name"] == "tests"
    assert root["resource"]["service.version"] == "1.2.3"
    assert root["resource"]["deployment.environment.name"] == "test"


def test_llm_metrics_follow_the_conventions(monitor, telemetry):
    with monitor.llm_call("gpt-4o", provider="openai") as call:
        call.set_usage(input_tokens=100, output_tokens=10)
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["attributes"] == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                      "gen_ai.request.model": "gpt-4o"}
    assert duration["unit"] == "s" and duration["count"] == 1
    assert duration["explicit_bounds"][:3] == [0.01, 0.02, 0.04]
    tokens = {p["attributes"]["gen_ai.token.type"]: p for p in telemetry.metric_points("gen_ai.client.token.usage")}
    assert tokens["input"]["sum"] == 100 and tokens["output"]["sum"] == 10
    assert tokens["input"]["explicit_bounds"][:3] == [1, 4, 16]
    (cost,) = telemetry.metric_points("agents_hub.llm.cost")
    assert cost["unit"] == "USD" and cost["value"] == pytest.approx(
        telemetry.span("chat gpt-4o")["attributes"]["gen_ai.usage.cost"])


def test_price_override_and_provider_cost():
    with capture(prices={"my-model": ModelPrice(input=1.0, output=2.0)}) as (monitor, telemetry):
        with monitor.llm_call("my-model") as call:
            call.set_usage(input_tokens=1_000_000, output_tokens=500_000)
        with monitor.llm_call("my-model") as call:
            call.set_usage(input_tokens=10, output_tokens=10)
            call.set_cost(0.5)
        first, second = telemetry.spans()
        assert first["attributes"]["gen_ai.usage.cost"] == pytest.approx(2.0)
        assert first["attributes"]["gen_ai.usage.cost.source"] == "local"
        assert second["attributes"]["gen_ai.usage.cost"] == 0.5
        assert second["attributes"]["gen_ai.usage.cost.source"] == "provider"


def test_unknown_model_records_tokens_without_cost(monitor, telemetry):
    with monitor.llm_call("no-such-model-xyz") as call:
        call.set_usage(input_tokens=5, output_tokens=7)
    attrs = telemetry.span("chat no-such-model-xyz")["attributes"]
    assert attrs["gen_ai.usage.input_tokens"] == 5 and "gen_ai.usage.cost" not in attrs
    assert telemetry.metric_points("agents_hub.llm.cost") == []


def test_tool_failure_is_recorded_and_reraised_unchanged(monitor, telemetry):
    error = KeyError("missing")
    with pytest.raises(KeyError) as raised, monitor.agent_run("a"), monitor.tool_call("lookup"):
        raise error
    assert raised.value is error
    tool = telemetry.span("execute_tool lookup")
    assert tool["status"] == "ERROR" and tool["attributes"]["error.type"] == "KeyError"
    assert tool["events"][0]["name"] == "exception"
    run = telemetry.span("invoke_agent a")
    assert run["status"] == "ERROR" and run["attributes"]["agents_hub.outcome"] == "error"
    (calls,) = telemetry.metric_points("agents_hub.tool.calls")
    assert calls["attributes"] == {"gen_ai.tool.name": "lookup", "gen_ai.agent.name": "a", "error.type": "KeyError"}
    (runs,) = telemetry.metric_points("agents_hub.agent.runs")
    assert runs["attributes"] == {"gen_ai.agent.name": "a", "error.type": "KeyError"} and runs["value"] == 1


def test_retrieval_memory_and_moderation_spans(monitor, telemetry):
    with monitor.retrieval("kb", query="capital of France") as retrieval:
        retrieval.set_documents(["Paris is the capital"], scores=[0.9])
    with monitor.memory_operation("search_memory", store="redis", input="user prefs") as memory:
        memory.set_result([{"k": "v"}, {"k2": "v2"}])
    with monitor.moderation_check("input-filter", input="some text") as check:
        check.set_result(True, category="hate", action="block", score=0.97)

    retrieval_span = telemetry.span("retrieval kb")
    assert retrieval_span["attributes"]["gen_ai.operation.name"] == "retrieval"
    assert retrieval_span["attributes"]["gen_ai.data_source.id"] == "kb"
    assert retrieval_span["attributes"]["gen_ai.retrieval.query.text"] == "capital of France"
    assert retrieval_span["attributes"]["agents_hub.result.count"] == 1
    assert retrieval_span["attributes"]["agents_hub.result.scores"] == (0.9,)
    memory_span = telemetry.span("search_memory")
    assert memory_span["attributes"]["agents_hub.memory.store"] == "redis"
    assert memory_span["attributes"]["agents_hub.result.count"] == 2
    guard = telemetry.span("apply_guardrail input-filter")
    assert guard["attributes"]["agents_hub.moderation.flagged"] is True
    assert guard["attributes"]["agents_hub.moderation.category"] == "hate"
    assert guard["attributes"]["agents_hub.moderation.action"] == "block"
    (moderation,) = telemetry.metric_points("agents_hub.moderation.events")
    assert moderation["attributes"] == {"agents_hub.moderation.flagged": True,
                                        "agents_hub.moderation.category": "hate",
                                        "agents_hub.moderation.action": "block"}
    (docs,) = telemetry.metric_points("agents_hub.retrieval.documents")
    assert docs["sum"] == 1
    (memory_ops,) = telemetry.metric_points("agents_hub.memory.operations")
    assert memory_ops["attributes"] == {"agents_hub.memory.operation": "search_memory",
                                        "agents_hub.memory.store": "redis"}


async def test_async_scopes_and_conversation_follow_tasks(monitor, telemetry):
    async def step(name: str) -> None:
        async with monitor.tool_call(name):
            await asyncio.sleep(0)

    async with monitor.conversation("conv-9", user_id=42, tags=["beta"], metadata={"plan": "pro"}):
        async with monitor.agent_run("async-agent"):
            await asyncio.gather(step("a"), step("b"))

    assert sorted(telemetry.tree()) == [(0, "invoke_agent async-agent"), (1, "execute_tool a"),
                                        (1, "execute_tool b")]
    for span in telemetry.spans():
        assert span["attributes"]["gen_ai.conversation.id"] == "conv-9"
        assert span["attributes"]["user.id"] == "42"
        assert span["attributes"]["agents_hub.tags"] == ("beta",)
        assert span["attributes"]["agents_hub.metadata.plan"] == "pro"


def test_conversation_context_reaches_threads_with_propagate_context(monitor, telemetry):
    from concurrent.futures import ThreadPoolExecutor

    from agents_hub_monitoring import propagate_context

    def work() -> None:
        with monitor.tool_call("threaded"):
            pass

    with monitor.conversation("conv-t", user_id="u"), monitor.agent_run("threads"):
        with ThreadPoolExecutor(2) as pool:
            pool.submit(propagate_context(work)).result()
    tool = telemetry.span("execute_tool threaded")
    assert tool["parent_span_id"] == telemetry.span("invoke_agent threads")["span_id"]
    assert tool["attributes"]["gen_ai.conversation.id"] == "conv-t"


def test_content_capture_off_keeps_structure_drops_content():
    with capture(capture_content=False) as (monitor, telemetry):
        with monitor.agent_run("quiet", input="secret plan") as run:
            with monitor.llm_call("gpt-4o", messages=["hello"]) as call:
                call.set_output("hi")
                call.set_usage(input_tokens=1, output_tokens=1)
            run.set_output("answer")
    for span in telemetry.spans():
        assert not {"input.value", "output.value", "gen_ai.input.messages",
                    "gen_ai.output.messages"} & set(span["attributes"])
    assert telemetry.span("chat gpt-4o")["attributes"]["gen_ai.usage.input_tokens"] == 1


def test_latest_experimental_opt_in_adds_the_draft_metrics(monkeypatch):
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http,gen_ai_latest_experimental")
    with capture() as (monitor, telemetry):
        with monitor.llm_call("gpt-4o", provider="openai") as call:
            call.set_usage(input_tokens=100, output_tokens=40, cache_read_input_tokens=60,
                           cache_creation_input_tokens=5, reasoning_output_tokens=10)
        metrics = telemetry.metrics()
    expected = {"gen_ai.client.inference.usage.input_tokens": 100, "gen_ai.client.inference.usage.output_tokens": 40,
                "gen_ai.client.inference.usage.cache_read.input_tokens": 60,
                "gen_ai.client.inference.usage.cache_write.input_tokens": 5,
                "gen_ai.client.inference.usage.reasoning.output_tokens": 10}
    for name, value in expected.items():
        (point,) = metrics[name]
        assert point["value"] == value and point["unit"] == "{token}"
        assert point["attributes"]["gen_ai.token.modality"] == "text"
    (duration,) = metrics["gen_ai.client.inference.duration"]
    assert duration["count"] == 1 and duration["unit"] == "s"
    assert "gen_ai.client.operation.duration" in metrics  # the released names stay


def test_released_names_only_without_the_opt_in(monkeypatch):
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    with capture() as (monitor, telemetry):
        with monitor.llm_call("gpt-4o") as call:
            call.set_usage(input_tokens=1, output_tokens=1)
        assert not [name for name in telemetry.metrics() if "inference" in name]


def test_histogram_buckets_are_exactly_the_contracts(monitor, telemetry):
    durations = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    tokens = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
    agent = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6]
    with monitor.agent_run("a"), monitor.tool_call("t"), monitor.llm_call("m") as call:
        call.set_usage(input_tokens=1, output_tokens=1)
    metrics = telemetry.metrics()
    for name, bounds in (("gen_ai.client.operation.duration", durations), ("gen_ai.client.token.usage", tokens),
                         ("gen_ai.execute_tool.duration", durations), ("gen_ai.invoke_agent.duration", agent)):
        assert all(point["explicit_bounds"] == bounds for point in metrics[name]), name
