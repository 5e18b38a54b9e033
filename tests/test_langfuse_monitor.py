"""LangfuseMonitor against the local Langfuse receiver: what Langfuse makes of our spans.

Assertions are on the observations and traces the receiver derives by Langfuse's own rules
(contracts/langfuse.md), not only on the attributes we send.
"""

from __future__ import annotations

import pytest
from langfuse_support import TRACES

pytestmark = pytest.mark.usefixtures("clean_langfuse_env")


def _by_name(receiver):
    return {o["name"]: o for o in receiver.observations()}


def test_seed_style_run_becomes_langfuse_observations(make_monitor, receiver):
    monitor = make_monitor(release="1.0.0", environment="staging")
    context = {"conversation_id": "user123", "user_id": "user456", "session_id": "session789",
               "tags": ["beta", "eu"], "metadata": {"plan": "premium"}}
    with monitor.agent_run("monitored_agent", context=context, input="What is the capital of France?") as run:
        with monitor.moderation_check("input-guard", input="some rude words") as check:
            check.set_result(True, category="harassment", action="warn")
        with monitor.llm_call("gpt-4o", provider="openai", messages=[{"role": "user", "content": "capital?"}],
                              parameters={"temperature": 0.2, "max_tokens": 100}) as call:
            call.set_usage(input_tokens=120, output_tokens=30, cache_read_input_tokens=20)
            call.set_response(model="gpt-4o-2024-08-06")
            call.set_output("Paris.")
            call.set_cost(0.0042)
        with monitor.tool_call("lookup", arguments={"country": "France"}) as tool:
            tool.set_result({"capital": "Paris"})
        with monitor.retrieval("kb", query="france capital") as retrieval:
            retrieval.set_documents(["Paris is the capital."], [0.93])
        monitor.track_event("answer_shown", {"variant": "b"})
        monitor.track_error(ValueError("cache miss"), context={"operation": "cache"})
        run.set_output("The capital of France is Paris.")
    monitor.score_conversation("user123", "helpfulness", 0.9, "Very helpful")
    monitor.add_user_feedback("user123", 5, "Great")
    assert monitor.flush()

    obs = _by_name(receiver)
    agent, llm = obs["invoke_agent monitored_agent"], obs["chat gpt-4o"]
    assert agent["type"] == "agent" and agent["input"] == "What is the capital of France?"
    assert agent["output"] == "The capital of France is Paris."
    assert agent["usage_details"] == {} and agent["model"] is None  # usage lives on the LLM span only
    assert llm["type"] == "generation" and llm["model"] == "gpt-4o-2024-08-06"
    assert llm["usage_details"] == {"input": 100, "input_cached_tokens": 20, "output": 30, "total": 150}
    assert llm["cost_details"] == {"total": 0.0042}
    assert llm["model_parameters"] == {"temperature": 0.2, "max_tokens": 100}
    assert llm["input"] == [{"role": "user", "parts": [{"type": "text", "content": "capital?"}]}]
    assert llm["output"] == [{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}]}]
    assert obs["lookup"]["type"] == "tool" and obs["lookup"]["output"] == {"capital": "Paris"}
    guard = obs["apply_guardrail input-guard"]
    assert (guard["type"], guard["level"]) == ("guardrail", "WARNING")
    assert guard["input"] == "some rude words" and guard["output"]["flagged"] is True
    assert "harassment" in guard["status_message"]
    retriever = obs["retrieval kb"]
    assert retriever["type"] == "retriever" and retriever["input"] == "france capital"
    assert retriever["output"] == ["Paris is the capital."]
    assert obs["answer_shown"]["type"] == "event" and obs["answer_shown"]["input"] == {"variant": "b"}
    error = obs["error ValueError"]
    assert (error["type"], error["level"]) == ("event", "ERROR") and "cache miss" in error["status_message"]

    (trace,) = [t for t in receiver.traces() if t["name"] == "monitored_agent"]
    assert (trace["session_id"], trace["user_id"]) == ("user123", "user456")
    assert trace["tags"] == ["beta", "eu"]
    assert trace["metadata"]["session_id"] == "session789" and trace["metadata"]["plan"] == "premium"
    assert (trace["release"], trace["environment"]) == ("1.0.0", "staging")
    in_trace = [o for o in receiver.observations() if o["trace_id"] == trace["id"]]
    assert len(in_trace) == 7
    for observation in in_trace:  # Langfuse reads these from span attributes only: every span has them
        assert (observation["session_id"], observation["user_id"]) == ("user123", "user456")
        assert observation["trace_name"] == "monitored_agent" and observation["tags"] == ["beta", "eu"]

    scores = {s["name"]: s for s in receiver.scores().values()}
    assert scores["helpfulness"] == {**scores["helpfulness"], "value": 0.9, "sessionId": "user123",
                                     "dataType": "NUMERIC", "comment": "Very helpful", "environment": "staging"}
    assert scores["user_feedback"]["value"] == 5 and scores["user_feedback"]["sessionId"] == "user123"
    # the score lives in Langfuse's score table; its marker span (outside any trace) is not sent
    assert not [name for name in obs if name.startswith("evaluation ")]


def test_trace_name_and_conversation_reach_spans_exported_one_by_one(make_monitor, receiver):
    monitor = make_monitor(batch=False)  # every span is its own export: children arrive before their root
    with monitor.conversation(session_id="app-s1", tags=["hooks"]):
        monitor.start_conversation(conversation_id="c9", agent_name="support", user_id="u9")
        monitor.track_user_message("my order is late", conversation_id="c9")
        monitor.track_llm_call(provider="anthropic", model="claude-3-5-sonnet", messages=[], conversation_id="c9")
        monitor.track_llm_result(provider="anthropic", model="claude-3-5-sonnet", result="Let me check.",
                                 conversation_id="c9", input_tokens=50, output_tokens=10)
        monitor.track_tool_usage("orders", {"id": 7}, conversation_id="c9")
        monitor.track_tool_usage("orders", {"id": 7}, {"status": "shipped"}, conversation_id="c9")
        monitor.track_assistant_message("It shipped yesterday.", conversation_id="c9")
    names = [o["name"] for o in receiver.observations()]
    assert names[-1] == "invoke_agent support" and len(names) == 3
    for observation in receiver.observations():
        assert observation["trace_name"] == "support"
        assert (observation["session_id"], observation["user_id"], observation["tags"]) == ("c9", "u9", ["hooks"])
    (trace,) = receiver.traces()
    assert trace["name"] == "support" and trace["metadata"]["session_id"] == "app-s1"
    assert trace["input"] == "my order is late" and trace["output"] == "It shipped yesterday."
    assert _by_name(receiver)["chat claude-3-5-sonnet"]["usage_details"] == {"input": 50, "output": 10, "total": 60}


def test_wire_format_follows_the_contract(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with monitor.agent_run("wire"):
        pass
    (request,) = receiver.requests(TRACES)
    assert request.headers["authorization"] == receiver.basic_auth
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["x-langfuse-ingestion-version"] == "4"
    assert request.status == 200
    assert not receiver.requests("/api/public/otel/v1/metrics")  # Langfuse discards OTLP metrics


def test_app_session_alone_is_trace_metadata_not_the_langfuse_session(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with monitor.agent_run("solo", context={"session_id": "web-session-1", "user_id": "u1"}):
        pass
    (observation,) = receiver.observations()
    assert observation["session_id"] is None and observation["user_id"] == "u1"
    assert receiver.traces()[0]["metadata"]["session_id"] == "web-session-1"


def test_observation_types_for_memory_embeddings_and_plain_spans(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with monitor.agent_run("typed", model="gpt-4o") as run:
        with monitor.memory_operation("search_memory", store="profile", input="likes?") as memory:
            memory.set_result(["tea"])
        with monitor.memory_operation("create_memory", store="profile", input="likes coffee"):
            pass
        with monitor.llm_call("text-embedding-3-small", provider="openai", operation="embeddings") as embed:
            embed.set_usage(input_tokens=8)
        with monitor.llm_call("o3-mini", provider="openai") as reasoning:
            reasoning.set_usage(input_tokens=10, output_tokens=50, reasoning_output_tokens=40)
        with monitor.span("post-process"):
            pass
        run.set_output("ok")
    obs = _by_name(receiver)
    assert obs["search_memory"]["type"] == "retriever" and obs["search_memory"]["output"] == ["tea"]
    assert obs["create_memory"]["type"] == "span"
    assert obs["embeddings text-embedding-3-small"]["type"] == "embedding"
    assert obs["embeddings text-embedding-3-small"]["usage_details"] == {"input": 8, "output": 0, "total": 8}
    assert obs["chat o3-mini"]["usage_details"] == {"input": 10, "output": 10, "output_reasoning_tokens": 40,
                                                    "total": 60}
    assert obs["post-process"]["type"] == "span"
    assert obs["invoke_agent typed"]["type"] == "agent" and obs["invoke_agent typed"]["model"] is None


def test_errors_set_level_and_status_message(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with pytest.raises(RuntimeError), monitor.agent_run("fails"), monitor.tool_call("flaky"):
        raise RuntimeError("upstream 502")
    obs = _by_name(receiver)
    for name in ("flaky", "invoke_agent fails"):
        assert obs[name]["level"] == "ERROR" and obs[name]["status_message"] == "RuntimeError: upstream 502"


def test_spans_from_other_instrumentations_are_translated_too(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with monitor.conversation("c5", user_id="u5"), monitor.tracer.start_as_current_span(
            "openai.chat", attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                                       "gen_ai.usage.input_tokens": 9, "gen_ai.usage.output_tokens": 3}):
        pass
    (observation,) = receiver.observations()
    assert (observation["type"], observation["model"]) == ("generation", "gpt-4o-mini")
    assert observation["usage_details"] == {"input": 9, "output": 3, "total": 12}
    assert (observation["session_id"], observation["user_id"], observation["trace_name"]) == ("c5", "u5", "openai.chat")


def test_a_span_that_fails_translation_is_still_exported(make_monitor, receiver, monkeypatch):
    import agents_hub_monitoring.exporters.langfuse as exporter_module

    def broken(span):
        raise RuntimeError("translation bug")

    monkeypatch.setattr(exporter_module, "translate_span", broken)
    monitor = make_monitor(batch=False)
    with monitor.agent_run("untranslated"):
        pass
    assert receiver.observation("invoke_agent untranslated")["type"] == "agent"  # Langfuse's own rules


def test_an_explicit_trace_name_is_kept(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with monitor.span("request", attributes={"langfuse.trace.name": "checkout"}), monitor.agent_run("inner"):
        pass
    assert {o["trace_name"] for o in receiver.observations()} == {"checkout"}


def test_a_score_inside_a_turn_stays_visible_as_an_event(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with monitor.agent_run("scored", context={"conversation_id": "c-in"}):
        monitor.score_conversation("c-in", "relevance", 0.4)
    monitor.flush()
    observation = receiver.observation("evaluation relevance")
    assert observation["type"] == "event" and observation["session_id"] == "c-in"
