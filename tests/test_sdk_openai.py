"""The official OpenAI SDK against a local server speaking its wire format, with our integration on.

Chat completions and the Responses API, sync and async, JSON and server-sent events: the spans
(name, provider, models, parameters, usage incl. cached and reasoning tokens, finish reasons,
tool calls, cost, time to first chunk) and the metrics; errors passing through unchanged; streams
closed early or dropped; uninstrument restoring the originals; one client alone.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from llm_servers.openai_shapes import CHAT_TEXT, RESPONSE_TEXT
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.responses import AsyncResponses, Responses
from opentelemetry import trace
from sdk_support import only_span

from agents_hub_monitoring.instrument import sdk_common
from agents_hub_monitoring.instrument.openai import instrument_openai, uninstrument_openai
from agents_hub_monitoring.testing import capture

MESSAGES = [{"role": "system", "content": "You're a helpful assistant."}, {"role": "user", "content": "Hi"}]
TOOLS = [{"type": "function", "function": {"name": "get_current_weather", "description": "Weather in a city",
                                           "parameters": {"type": "object", "properties": {
                                               "location": {"type": "string"}}, "required": ["location"]}}}]
RESPONSE_TOOLS = [{"type": "function", "name": "get_current_weather", "parameters": {"type": "object"}}]
PATCHED = [(owner, name) for owner in (Completions, AsyncCompletions, Responses, AsyncResponses)
           for name in ("create", "parse")]


@pytest.fixture(autouse=True)
def _uninstrumented_after() -> Iterator[None]:
    yield
    uninstrument_openai()




def output(span: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(span["attributes"]["gen_ai.output.messages"])


def assert_chat_usage(attrs: dict[str, Any]) -> None:
    assert attrs["gen_ai.usage.input_tokens"] == 1187 and attrs["gen_ai.usage.output_tokens"] == 9
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 0
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.usage.cost"] > 0 and attrs["gen_ai.usage.cost.source"] == "local"


def test_chat_completion_sync_span_and_metrics(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    result = openai_sync_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, temperature=0.2, max_tokens=200, top_p=0.9,
        stop="END", seed=7, frequency_penalty=0.1, presence_penalty=0.3, n=1)
    assert result.choices[0].message.tool_calls[0].function.name == "get_current_weather"
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert span["name"] == "chat gpt-4o-mini" and span["kind"] == "CLIENT" and span["status"] == "UNSET"
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert {k: v for k, v in attrs.items() if k.startswith("gen_ai.request.") and k != "gen_ai.request.model"} == {
        "gen_ai.request.temperature": 0.2, "gen_ai.request.max_tokens": 200, "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ("END",), "gen_ai.request.seed": 7,
        "gen_ai.request.frequency_penalty": 0.1, "gen_ai.request.presence_penalty": 0.3,
        "gen_ai.request.choice.count": 1}
    assert_chat_usage(attrs)
    assert attrs["gen_ai.response.id"] == "chatcmpl-APfFOuWLsYvVpZYqENRo9rKnifNdD"
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert output(span) == [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "tool_call", "id": "call_6YvurIMPOgMo2q6V6KGJDA6g", "name": "get_current_weather",
         "arguments": {"location": "Paris, France"}}]}]
    assert json.loads(attrs["gen_ai.tool.definitions"]) == TOOLS
    assert json.loads(attrs["gen_ai.input.messages"])[1] == {"role": "user", "parts": [
        {"type": "text", "content": "Hi"}]}
    assert "agents_hub.time_to_first_chunk" not in attrs

    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["count"] == 1 and duration["attributes"] == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18"}
    tokens = {p["attributes"]["gen_ai.token.type"]: p["sum"]
              for p in telemetry.metric_points("gen_ai.client.token.usage")}
    assert tokens == {"input": 1187, "output": 9}
    (cost,) = telemetry.metric_points("agents_hub.llm.cost")
    assert cost["value"] == pytest.approx(attrs["gen_ai.usage.cost"])
    assert telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk") == []


async def test_chat_completion_async(openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    result = await openai_async_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == CHAT_TEXT
    span = only_span(telemetry)
    assert span["name"] == "chat gpt-4o-mini"
    assert_chat_usage(span["attributes"])
    assert span["attributes"]["gen_ai.response.finish_reasons"] == ("stop",)
    assert output(span) == [{"role": "assistant", "finish_reason": "stop",
                             "parts": [{"type": "text", "content": CHAT_TEXT}]}]


def test_chat_stream_sync_with_usage(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    stream = openai_sync_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    assert isinstance(stream, openai.Stream)
    assert telemetry.spans() == []  # the span lasts as long as the stream
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == CHAT_TEXT
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert attrs["gen_ai.request.stream"] is True and attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert_chat_usage(attrs)
    assert 0 < attrs["agents_hub.time_to_first_chunk"] <= span["duration_s"]
    assert output(span)[0]["parts"] == [{"type": "text", "content": CHAT_TEXT}]
    (first_chunk,) = telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first_chunk["count"] == 1 and first_chunk["attributes"]["gen_ai.provider.name"] == "openai"


async def test_chat_stream_async_tool_call_from_fragments(server, openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    stream = await openai_async_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, stream=True)
    assert isinstance(stream, openai.AsyncStream)
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["agents_hub.time_to_first_chunk"] > 0
    assert "gen_ai.usage.input_tokens" not in attrs  # no include_usage: the API sends none
    assert output(span)[0]["parts"] == [{"type": "tool_call", "id": "call_6YvurIMPOgMo2q6V6KGJDA6g",
                                         "name": "get_current_weather", "arguments": {"location": "Paris, France"}}]
    # We never change the request to get usage.
    assert "stream_options" not in server.requests[-1].body


def test_chat_stream_helper_makes_one_span(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    with openai_sync_client().chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES,
                                                     stream_options={"include_usage": True}) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == CHAT_TEXT
    span = only_span(telemetry)
    assert span["name"] == "chat gpt-4o-mini" and span["attributes"]["agents_hub.time_to_first_chunk"] > 0
    assert_chat_usage(span["attributes"])


def test_responses_sync_with_reasoning_tokens(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    result = openai_sync_client().responses.create(model="o4-mini", input="What is the capital of France?",
                                                  instructions="Answer briefly.", max_output_tokens=500,
                                                  temperature=1.0)
    assert result.output_text == RESPONSE_TEXT
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert span["name"] == "chat o4-mini" and attrs["gen_ai.response.model"] == "o4-mini-2025-04-16"
    assert attrs["gen_ai.request.max_tokens"] == 500 and attrs["gen_ai.request.temperature"] == 1.0
    assert attrs["gen_ai.usage.input_tokens"] == 1530 and attrs["gen_ai.usage.output_tokens"] == 220
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1408
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 192
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",) and attrs["gen_ai.usage.cost"] > 0
    assert json.loads(attrs["gen_ai.system_instructions"]) == [{"type": "text", "content": "Answer briefly."}]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is the capital of France?"}]}]
    assert output(span) == [{"role": "assistant", "finish_reason": "stop",
                             "parts": [{"type": "text", "content": RESPONSE_TEXT}]}]


async def test_responses_async_function_call(openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    items = [{"role": "user", "content": "Weather in Paris?"},
             {"type": "function_call_output", "call_id": "call_0", "output": "sunny"}]
    await openai_async_client().responses.create(model="o4-mini", input=items, tools=RESPONSE_TOOLS)
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert output(span)[0]["parts"] == [{"type": "tool_call", "id": "call_6YvurIMPOgMo2q6V6KGJDA6g",
                                         "name": "get_current_weather", "arguments": {"location": "Paris, France"}}]
    assert json.loads(attrs["gen_ai.input.messages"])[1] == {
        "role": "tool", "parts": [{"type": "tool_call_response", "id": "call_0", "response": "sunny"}]}


def test_responses_stream_sync(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    events = list(openai_sync_client().responses.create(model="o4-mini", input="Capital of France?", stream=True))
    assert events[-1].type == "response.completed"
    attrs = only_span(telemetry)["attributes"]
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 192
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1408
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",) and attrs["agents_hub.time_to_first_chunk"] > 0


async def test_responses_stream_helper_async(openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    async with openai_async_client().responses.stream(model="o4-mini", input="Capital of France?") as stream:
        final = await stream.get_final_response()
    assert final.output_text == RESPONSE_TEXT
    attrs = only_span(telemetry)["attributes"]
    assert attrs["gen_ai.usage.output_tokens"] == 220 and attrs["agents_hub.time_to_first_chunk"] > 0


@pytest.mark.parametrize(("status", "error_class"), [(500, openai.InternalServerError),
                                                     (429, openai.RateLimitError)])
def test_api_errors_pass_through_unchanged_and_are_recorded(openai_sync_client, monitor, telemetry, status,
                                                            error_class):
    client = openai_sync_client(f"/fail/{status}")
    with pytest.raises(error_class) as plain:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    instrument_openai(monitor)
    with pytest.raises(error_class) as instrumented:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    error = instrumented.value
    assert type(error) is type(plain.value) and str(error) == str(plain.value)
    assert error.status_code == status and error.body == plain.value.body
    span = only_span(telemetry)
    assert span["status"] == "ERROR" and span["attributes"]["error.type"] == error_class.__name__
    assert [event["name"] for event in span["events"]] == ["exception"]
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["attributes"]["error.type"] == error_class.__name__


async def test_async_stream_error_passes_through(openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    with pytest.raises(openai.InternalServerError):
        await openai_async_client("/fail/500").chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                                         stream=True)
    assert only_span(telemetry)["attributes"]["error.type"] == "InternalServerError"


def test_stream_closed_early_ends_the_span(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    client = openai_sync_client()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    span = only_span(telemetry)
    assert span["status"] == "UNSET" and span["attributes"]["agents_hub.time_to_first_chunk"] > 0
    assert span["attributes"]["agents_hub.outcome"] == "closed"
    assert "gen_ai.response.finish_reasons" not in span["attributes"]
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
        for _ in stream:
            break
    assert len(telemetry.spans()) == 2


def test_dropped_stream_ends_the_span_when_collected(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    stream = openai_sync_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    del stream
    gc.collect()
    assert only_span(telemetry)["name"] == "chat gpt-4o-mini"


async def test_async_stream_closed_early(openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    stream = await openai_async_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    await stream.__anext__()
    await stream.close()
    assert only_span(telemetry)["attributes"]["agents_hub.time_to_first_chunk"] > 0


def test_spans_nest_and_streams_do_not_leak_context(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    client = openai_sync_client()
    with monitor.agent_run("planner"):
        outer = trace.get_current_span()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        assert trace.get_current_span() is outer
        list(stream)
    assert telemetry.tree() == [(0, "invoke_agent planner"), (1, "chat gpt-4o-mini"), (1, "chat gpt-4o-mini")]


def test_uninstrument_restores_the_exact_originals(openai_sync_client, monitor, telemetry):
    originals = {key: key[0].__dict__[key[1]] for key in PATCHED}
    instrument_openai(monitor)
    wrapped = {key: key[0].__dict__[key[1]] for key in PATCHED}
    assert all(wrapped[key] is not originals[key] for key in PATCHED)
    instrument_openai(monitor)  # idempotent: nothing wrapped twice
    assert all(key[0].__dict__[key[1]] is wrapped[key] for key in PATCHED)
    openai_sync_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 1
    uninstrument_openai()
    assert all(key[0].__dict__[key[1]] is originals[key] for key in PATCHED)
    openai_sync_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 1


def test_one_client_only(openai_sync_client, monitor, telemetry):
    original = Completions.__dict__["create"]
    mine, other = openai_sync_client(), openai_sync_client()
    instrument_openai(monitor, mine)
    instrument_openai(monitor, mine)
    assert Completions.__dict__["create"] is original
    other.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert telemetry.spans() == []
    mine.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    mine.responses.create(model="o4-mini", input="hi")
    assert telemetry.span_names() == ["chat gpt-4o-mini", "chat o4-mini"]
    uninstrument_openai(mine)
    assert "create" not in vars(mine.chat.completions) and "create" not in vars(mine.responses)
    mine.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 2


def test_client_and_class_patches_give_one_span_per_call(openai_sync_client, telemetry, monitor):
    client = openai_sync_client()
    instrument_openai(monitor)
    instrument_openai(monitor, client)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 1
    uninstrument_openai(client)


def test_our_failures_never_break_the_call(openai_sync_client, monitor, telemetry, monkeypatch):
    instrument_openai(monitor)
    client = openai_sync_client()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug in the integration")

    monkeypatch.setattr(sdk_common, "read_llm_result", broken)
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == CHAT_TEXT
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len(telemetry.spans()) == 2  # spans still end, just without the result
    monkeypatch.setattr(sdk_common.LLMRequest, "spec", broken)
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == CHAT_TEXT
    assert len(telemetry.spans()) == 2  # no span, the call went through


def test_one_shot_iterables_are_not_consumed(server, openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    openai_sync_client().chat.completions.create(model="gpt-4o-mini", messages=(m for m in MESSAGES))
    assert server.requests[-1].body["messages"] == MESSAGES
    assert "gen_ai.input.messages" not in only_span(telemetry)["attributes"]


def test_content_capture_off_keeps_usage_drops_content(openai_sync_client):
    with capture(capture_content=False) as (monitor, telemetry):
        instrument_openai(monitor)
        client = openai_sync_client()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True}))
        for span in telemetry.spans():
            attrs = span["attributes"]
            assert not {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"} & set(attrs)
            assert attrs["gen_ai.usage.input_tokens"] == 1187 and attrs["gen_ai.response.finish_reasons"]


def test_closed_monitor_passes_calls_through(openai_sync_client):
    with capture() as (monitor, _):
        instrument_openai(monitor)
    assert openai_sync_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).id


def test_azure_client_reports_azure_provider(server, monitor, telemetry):
    instrument_openai(monitor)
    with openai.AzureOpenAI(azure_endpoint=server.url, api_key="test", api_version="2024-10-21",
                            max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert only_span(telemetry)["attributes"]["gen_ai.provider.name"] == "azure.ai.openai"


def test_missing_sdk_names_the_extra(monkeypatch, monitor):
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ImportError, match=r"pip install agents-hub-monitoring\[openai\]"):
        instrument_openai(monitor)


async def test_one_async_client_only(openai_async_client, monitor, telemetry):
    mine, other = openai_async_client(), openai_async_client()
    instrument_openai(monitor, mine)
    await other.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stream = await mine.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.AsyncStream)
    async with stream:
        pass  # closed without reading: the span still ends
    assert telemetry.span_names() == ["chat gpt-4o-mini"]
    uninstrument_openai(mine)


def test_instrumenting_again_with_another_monitor_retargets(openai_sync_client):
    with capture() as (first, first_telemetry), capture() as (second, second_telemetry):
        instrument_openai(first)
        instrument_openai(second)
        openai_sync_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert first_telemetry.spans() == [] and len(second_telemetry.spans()) == 1


def test_monitor_methods_instrument_and_restore(openai_sync_client, monitor, telemetry):
    original = Completions.create
    monitor.instrument_openai()
    assert Completions.create is not original
    openai_sync_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert only_span(telemetry)["name"] == "chat gpt-4o-mini"
    monitor.uninstrument_openai()
    assert Completions.create is original
