"""An instrumented SDK call inside an LLM span of the same monitor (``@monitor.llm``, ``monitor.llm_call``).

The enclosing span is the LLM call: the SDK wrapper opens no second ``chat`` span and records no
metrics of its own (not even under a sampled-out span); it adds what the request tells where the
enclosing span lacks it, and fills the span's handle with the response's usage, model and finish
reasons. Inside any other span (an agent run, another monitor's LLM span) it gets its own span.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import openai
import pytest
from llm_servers import FakeLLMServer
from llm_servers.anthropic_shapes import MESSAGE_TEXT
from llm_servers.openai_shapes import CHAT_TEXT
from sdk_support import async_sdk_clients, only_span, sdk_clients

from agents_hub_monitoring.instrument.anthropic import instrument_anthropic, uninstrument_anthropic
from agents_hub_monitoring.instrument.openai import instrument_openai, uninstrument_openai
from agents_hub_monitoring.testing import capture

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Hi"}]
TOOLS = [{"type": "function", "function": {"name": "get_current_weather", "parameters": {"type": "object"}}}]
CLAUDE = "claude-haiku-4-5-20251001"


@pytest.fixture(autouse=True)
def _uninstrumented_after() -> Iterator[None]:
    yield
    uninstrument_openai()
    uninstrument_anthropic()


@pytest.fixture
def client(server: FakeLLMServer) -> Iterator[openai.OpenAI]:
    with sdk_clients(openai.OpenAI, server, path="/v1", api_key="sk-test") as make:
        yield make()


@pytest.fixture
async def async_client(server: FakeLLMServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with async_sdk_clients(openai.AsyncOpenAI, server, path="/v1", api_key="sk-test") as make:
        yield make()


@pytest.fixture
def claude(server: FakeLLMServer) -> Iterator[anthropic.Anthropic]:
    with sdk_clients(anthropic.Anthropic, server, api_key="sk-ant-test") as make:
        yield make()


def assert_counted_once_per_call(telemetry: Any, calls: int, input_tokens: int, output_tokens: int) -> None:
    """Each call's tokens and cost are in the metrics exactly once."""
    spans = telemetry.spans()
    assert [s["attributes"]["gen_ai.operation.name"] for s in spans] == ["chat"] * calls, telemetry.tree()
    tokens = {p["attributes"]["gen_ai.token.type"]: (p["count"], p["sum"])
              for p in telemetry.metric_points("gen_ai.client.token.usage")}
    assert tokens == {"input": (calls, calls * input_tokens), "output": (calls, calls * output_tokens)}
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["count"] == calls
    (cost,) = telemetry.metric_points("agents_hub.llm.cost")
    assert cost["value"] == pytest.approx(sum(s["attributes"]["gen_ai.usage.cost"] for s in spans))


def test_decorated_llm_around_chat_completion_is_one_span(client, monitor, telemetry):
    instrument_openai(monitor)

    @monitor.llm
    def ask(question: str) -> Any:
        return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                              temperature=0.2, tools=TOOLS)

    for _ in range(2):
        assert ask("Weather in Paris?").choices[0].finish_reason == "tool_calls"
    assert_counted_once_per_call(telemetry, 2, 1187, 9)
    attrs = telemetry.spans()[0]["attributes"]
    assert attrs["gen_ai.usage.input_tokens"] == 1187 and attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    # What only the SDK call knows is added to the decorated span.
    assert attrs["gen_ai.provider.name"] == "openai" and attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.model"] == MODEL and json.loads(attrs["gen_ai.tool.definitions"]) == TOOLS
    assert telemetry.spans()[0]["name"] == f"chat {MODEL}"


def test_decorated_llm_keeps_its_own_request_attributes(client, monitor, telemetry):
    instrument_openai(monitor)

    @monitor.llm(name="summarise", provider="azure", model="my-deployment")
    def summarise(temperature: float) -> Any:
        return client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.9)

    summarise(temperature=0.1)
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert span["name"] == "summarise" and attrs["gen_ai.request.model"] == "my-deployment"
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai" and attrs["gen_ai.request.temperature"] == 0.1


def test_decorated_llm_around_a_stream_is_one_span(client, monitor, telemetry):
    instrument_openai(monitor)

    @monitor.llm(model=MODEL)
    def ask() -> Any:
        return client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                              stream_options={"include_usage": True})

    for _ in range(2):
        assert "".join(c.choices[0].delta.content or "" for c in ask() if c.choices) == CHAT_TEXT
    assert_counted_once_per_call(telemetry, 2, 1187, 9)
    (first_chunk,) = telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first_chunk["count"] == 2


async def test_decorated_async_llm_is_one_span(async_client, monitor, telemetry):
    instrument_openai(monitor)

    @monitor.llm(model=MODEL)
    async def ask(stream: bool) -> Any:
        return await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=stream,
                                                          stream_options={"include_usage": True} if stream else None)

    assert (await ask(False)).choices[0].message.content == CHAT_TEXT
    assert [chunk async for chunk in await ask(True)][-1].usage.prompt_tokens == 1187
    assert_counted_once_per_call(telemetry, 2, 1187, 9)


def test_decorated_llm_around_anthropic_calls(claude, monitor, telemetry):
    instrument_anthropic(monitor)

    @monitor.llm
    def ask(model: str, streamed: bool) -> Any:
        if not streamed:
            return claude.messages.create(model=model, max_tokens=64, messages=MESSAGES)
        with claude.messages.stream(model=model, max_tokens=64, messages=MESSAGES) as stream:
            return stream.get_final_message()

    assert ask(CLAUDE, False).content[0].text == MESSAGE_TEXT
    assert ask(CLAUDE, True).content[0].text == MESSAGE_TEXT
    with monitor.llm_call(CLAUDE), claude.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as s:
        s.get_final_message()  # the usage reaches the scope's span without set_usage
    assert_counted_once_per_call(telemetry, 3, 2257, 96)
    assert {s["attributes"]["gen_ai.provider.name"] for s in telemetry.spans()} == {"anthropic"}


def test_llm_call_scope_gets_the_usage_of_the_sdk_call_inside(client, monitor, telemetry):
    instrument_openai(monitor)
    with monitor.llm_call(MODEL):  # no set_usage: the response's usage reaches the scope's span
        client.chat.completions.create(model=MODEL, messages=MESSAGES, seed=3)
    with monitor.llm_call(MODEL) as call:  # what its user records too, counted once all the same
        result = client.chat.completions.create(model=MODEL, messages=MESSAGES)
        call.set_usage(result.usage.prompt_tokens, result.usage.completion_tokens)
    assert_counted_once_per_call(telemetry, 2, 1187, 9)
    attrs = telemetry.spans()[0]["attributes"]
    assert attrs["gen_ai.request.seed"] == 3 and attrs["gen_ai.usage.output_tokens"] == 9


def test_other_spans_still_get_an_sdk_span(client, monitor, telemetry):
    instrument_openai(monitor)
    with capture() as (other, other_telemetry):
        with monitor.agent_run("planner"), other.llm_call(MODEL):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert len(other_telemetry.spans()) == 1  # another monitor's LLM span does not count
    # The SDK span's parent is the other monitor's span, exported elsewhere.
    assert telemetry.span_names() == [f"chat {MODEL}", "invoke_agent planner"]
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["count"] == 1


def test_decorated_llm_returning_text_keeps_the_usage(client, monitor, telemetry):
    instrument_openai(monitor)

    @monitor.llm(model=MODEL)
    def ask() -> str:
        return client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content

    assert ask() == CHAT_TEXT
    assert_counted_once_per_call(telemetry, 1, 1187, 9)
    attrs = only_span(telemetry)["attributes"]
    assert (attrs["gen_ai.response.model"], attrs["gen_ai.response.finish_reasons"]) == (
        "gpt-4o-mini-2024-07-18", ("stop",))


def test_decorated_llm_consuming_a_stream_keeps_the_usage(client, monitor, telemetry):
    instrument_openai(monitor)

    @monitor.llm
    def ask() -> str:
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True})
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    @monitor.llm
    def deltas() -> Iterator[str]:  # a generator: each step runs with the LLM span current
        for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                    stream_options={"include_usage": True}):
            yield chunk.choices[0].delta.content or "" if chunk.choices else ""

    assert ask() == CHAT_TEXT
    assert "".join(deltas()) == CHAT_TEXT
    assert_counted_once_per_call(telemetry, 2, 1187, 9)
    for span in telemetry.spans():
        assert span["attributes"]["gen_ai.provider.name"] == "openai"
        assert json.loads(span["attributes"]["gen_ai.output.messages"])[0]["parts"][0]["content"] == CHAT_TEXT


async def test_async_llm_call_scope_gets_the_usage_of_a_stream_inside(async_client, monitor, telemetry):
    instrument_openai(monitor)
    async with monitor.llm_call(MODEL) as call:
        stream = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                            stream_options={"include_usage": True})
        assert [chunk async for chunk in stream] and call.input_tokens == 1187  # filled at the stream's end
    assert_counted_once_per_call(telemetry, 1, 1187, 9)
    (first_chunk,) = telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first_chunk["count"] == 1


def test_sampled_out_llm_span_counts_the_call_once(client, server):
    with capture(sample_rate=0.0) as (monitor, telemetry):
        instrument_openai(monitor)
        monitor.llm(model=MODEL)(lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES))()
        with monitor.llm_call(MODEL):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert telemetry.spans() == []
        tokens = {p["attributes"]["gen_ai.token.type"]: p["sum"] for p in telemetry.metric_points(
            "gen_ai.client.token.usage")}
        assert tokens == {"input": 2 * 1187, "output": 2 * 9}
        (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
        assert duration["count"] == 2 and duration["attributes"]["gen_ai.provider.name"] == "openai"


def test_sdk_call_respects_the_decorators_switches(client, server, monitor, telemetry):
    instrument_openai(monitor)
    failing = openai.OpenAI(base_url=f"{server.url}/fail/500/v1", api_key="sk-test", max_retries=0)

    @monitor.llm(model=MODEL, capture_output=False)
    def ask() -> str:
        with contextlib.suppress(openai.InternalServerError):  # handled: not the LLM span's failure
            failing.chat.completions.create(model=MODEL, messages=MESSAGES)
        return client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content

    with failing:
        assert ask() == CHAT_TEXT
    assert {"error.type", "gen_ai.output.messages"}.isdisjoint(only_span(telemetry)["attributes"])
    assert_counted_once_per_call(telemetry, 1, 1187, 9)
