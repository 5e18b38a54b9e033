"""The official Anthropic SDK against a local server speaking its wire format, with our integration on.

``messages.create`` (sync and async, JSON and server-sent events) and the ``messages.stream()``
helper: usage with cache reads and writes and thinking tokens, stop reasons, tool use, cost, time
to first chunk, metrics; errors passing through; early close; uninstrument; one client alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import pytest
from anthropic.resources.beta.messages import AsyncMessages as AsyncBetaMessages
from anthropic.resources.beta.messages import Messages as BetaMessages
from anthropic.resources.messages import AsyncMessages, Messages
from llm_servers import FakeLLMServer
from llm_servers.anthropic_shapes import MESSAGE_TEXT, THINKING_TEXT, TOOL_INPUT
from sdk_support import async_sdk_clients, only_span, sdk_clients

from agents_hub_monitoring.instrument.anthropic import instrument_anthropic, uninstrument_anthropic

MODEL = "claude-haiku-4-5-20251001"
MESSAGES = [{"role": "user", "content": "Hi"}]
TOOLS = [{"name": "get_weather", "description": "Weather in a city",
          "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}]
THINKING = {"type": "enabled", "budget_tokens": 1024}
PATCHED = [(owner, name) for owner in (Messages, AsyncMessages, BetaMessages, AsyncBetaMessages)
           for name in ("create", "parse", "stream")]
TOOL_PART = {"type": "tool_call", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
             "arguments": TOOL_INPUT}


@pytest.fixture(autouse=True)
def _uninstrumented_after() -> Iterator[None]:
    yield
    uninstrument_anthropic()


@pytest.fixture
def sync_client(server: FakeLLMServer) -> Iterator[Callable[..., anthropic.Anthropic]]:
    with sdk_clients(anthropic.Anthropic, server, api_key="sk-ant-test") as make:
        yield make


@pytest.fixture
async def async_client(server: FakeLLMServer) -> AsyncIterator[Callable[..., anthropic.AsyncAnthropic]]:
    async with async_sdk_clients(anthropic.AsyncAnthropic, server, api_key="sk-ant-test") as make:
        yield make


def parts(span: dict[str, Any]) -> list[dict[str, Any]]:
    (message,) = json.loads(span["attributes"]["gen_ai.output.messages"])
    return message["parts"]


def assert_usage(attrs: dict[str, Any], *, thinking: bool) -> None:
    # input_tokens include cache reads and writes (21 + 2048 + 188), per the GenAI conventions
    assert attrs["gen_ai.usage.input_tokens"] == 2257 and attrs["gen_ai.usage.output_tokens"] == 96
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2048
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 188
    assert attrs.get("gen_ai.usage.reasoning.output_tokens") == (64 if thinking else None)
    assert attrs["gen_ai.usage.cost"] > 0 and attrs["gen_ai.usage.cost.source"] == "local"


def test_message_sync_span_and_metrics(sync_client, monitor, telemetry):
    instrument_anthropic(monitor)
    message = sync_client().messages.create(model=MODEL, max_tokens=1024, system="Be brief.", messages=MESSAGES,
                                            stop_sequences=["END"], thinking=THINKING)
    assert message.content[-1].text == MESSAGE_TEXT
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert span["name"] == f"chat {MODEL}" and span["kind"] == "CLIENT"
    assert attrs["gen_ai.provider.name"] == "anthropic" and attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == MODEL and attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.request.max_tokens"] == 1024 and attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["gen_ai.response.id"] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert_usage(attrs, thinking=True)
    assert json.loads(attrs["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    assert parts(span) == [{"type": "reasoning", "content": THINKING_TEXT}, {"type": "text", "content": MESSAGE_TEXT}]

    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["count"] == 1 and duration["attributes"]["gen_ai.provider.name"] == "anthropic"
    tokens = {p["attributes"]["gen_ai.token.type"]: p["sum"]
              for p in telemetry.metric_points("gen_ai.client.token.usage")}
    assert tokens == {"input": 2257, "output": 96}
    (cost,) = telemetry.metric_points("agents_hub.llm.cost")
    assert cost["value"] == pytest.approx(attrs["gen_ai.usage.cost"])


async def test_message_async_tool_use(async_client, monitor, telemetry):
    instrument_anthropic(monitor)
    message = await async_client().messages.create(model=MODEL, max_tokens=1024, messages=MESSAGES, tools=TOOLS)
    assert message.stop_reason == "tool_use"
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert parts(span)[1] == TOOL_PART
    assert json.loads(attrs["gen_ai.tool.definitions"]) == TOOLS
    assert_usage(attrs, thinking=False)


def test_stream_sync_tool_use_from_deltas(sync_client, monitor, telemetry):
    instrument_anthropic(monitor)
    stream = sync_client().messages.create(model=MODEL, max_tokens=1024, messages=MESSAGES, tools=TOOLS,
                                           stream=True)
    assert isinstance(stream, anthropic.Stream)
    events = [event.type for event in stream]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert attrs["gen_ai.request.stream"] is True and attrs["agents_hub.time_to_first_chunk"] > 0
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert_usage(attrs, thinking=False)
    assert parts(span) == [{"type": "text", "content": "I'll check the weather in Paris."}, TOOL_PART]
    (first_chunk,) = telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")
    assert first_chunk["count"] == 1


async def test_stream_async_with_thinking(async_client, monitor, telemetry):
    instrument_anthropic(monitor)
    stream = await async_client().messages.create(model=MODEL, max_tokens=2048, messages=MESSAGES,
                                                  thinking=THINKING, stream=True)
    assert isinstance(stream, anthropic.AsyncStream)
    assert [event.type async for event in stream][-1] == "message_stop"
    span = only_span(telemetry)
    assert_usage(span["attributes"], thinking=True)
    assert parts(span) == [{"type": "reasoning", "content": THINKING_TEXT}, {"type": "text", "content": MESSAGE_TEXT}]


def test_stream_helper_sync(sync_client, monitor, telemetry):
    instrument_anthropic(monitor)
    manager = sync_client().messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES)
    assert telemetry.spans() == []  # nothing is sent before the manager is entered
    with manager as stream:
        assert stream.get_final_text() == MESSAGE_TEXT
    span = only_span(telemetry)
    assert span["attributes"]["gen_ai.request.stream"] is True
    assert span["attributes"]["agents_hub.time_to_first_chunk"] > 0
    assert_usage(span["attributes"], thinking=False)


async def test_stream_helper_async(async_client, monitor, telemetry):
    instrument_anthropic(monitor)
    async with async_client().messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES,
                                              tools=TOOLS) as stream:
        final = await stream.get_final_message()
    assert final.content[1].input == TOOL_INPUT
    span = only_span(telemetry)
    assert parts(span)[1] == TOOL_PART and span["attributes"]["gen_ai.response.finish_reasons"] == ("tool_use",)


def test_stream_helper_closed_early_ends_the_span(sync_client, monitor, telemetry):
    instrument_anthropic(monitor)
    with sync_client().messages.stream(model=MODEL, max_tokens=1024, messages=MESSAGES) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    span = only_span(telemetry)
    assert span["status"] == "UNSET" and span["attributes"]["agents_hub.time_to_first_chunk"] > 0
    assert span["attributes"]["agents_hub.outcome"] == "closed"
    assert span["attributes"]["gen_ai.response.id"] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert "gen_ai.response.finish_reasons" not in span["attributes"]


def test_stream_closed_early_ends_the_span(sync_client, monitor, telemetry):
    instrument_anthropic(monitor)
    stream = sync_client().messages.create(model=MODEL, max_tokens=1024, messages=MESSAGES, tools=TOOLS,
                                           stream=True)
    for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "input_json_delta" and event.delta.partial_json:
            break
    stream.close()
    span = only_span(telemetry)
    assert span["status"] == "UNSET"
    # a tool call cut in its arguments keeps what arrived
    assert parts(span)[1]["arguments"] == '{"location":'


@pytest.mark.parametrize(("status", "error_class"), [(500, anthropic.InternalServerError),
                                                     (429, anthropic.RateLimitError),
                                                     (529, anthropic.OverloadedError)])
def test_api_errors_pass_through_unchanged_and_are_recorded(sync_client, monitor, telemetry, status,
                                                            error_class):
    client = sync_client(f"/fail/{status}")
    with pytest.raises(error_class) as plain:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    instrument_anthropic(monitor)
    with pytest.raises(error_class) as instrumented:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert type(instrumented.value) is type(plain.value) and str(instrumented.value) == str(plain.value)
    assert instrumented.value.status_code == status and instrumented.value.body == plain.value.body
    span = only_span(telemetry)
    assert span["status"] == "ERROR" and span["attributes"]["error.type"] == error_class.__name__
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["attributes"]["error.type"] == error_class.__name__


async def test_stream_helper_error_passes_through(async_client, monitor, telemetry):
    instrument_anthropic(monitor)
    with pytest.raises(anthropic.RateLimitError):
        async with async_client("/fail/429").messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES):
            pass
    assert only_span(telemetry)["attributes"]["error.type"] == "RateLimitError"


def test_sdk_argument_errors_pass_through(sync_client, monitor, telemetry):
    instrument_anthropic(monitor)
    with pytest.raises(TypeError, match="temperature"):  # this SDK version has no temperature argument
        sync_client().messages.create(model=MODEL, max_tokens=10, messages=MESSAGES, temperature=0.5)
    assert only_span(telemetry)["attributes"]["error.type"] == "TypeError"


def test_uninstrument_restores_the_exact_originals(sync_client, monitor, telemetry):
    originals = {key: key[0].__dict__[key[1]] for key in PATCHED}
    instrument_anthropic(monitor)
    instrument_anthropic(monitor)
    assert all(key[0].__dict__[key[1]] is not originals[key] for key in PATCHED)
    sync_client().messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert len(telemetry.spans()) == 1
    uninstrument_anthropic()
    assert all(key[0].__dict__[key[1]] is originals[key] for key in PATCHED)
    sync_client().messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert len(telemetry.spans()) == 1


def test_one_client_only(sync_client, monitor, telemetry):
    mine, other = sync_client(), sync_client()
    instrument_anthropic(monitor, mine)
    assert Messages.__dict__["create"] is not vars(mine.messages)["create"]
    other.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert telemetry.spans() == []
    mine.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    with mine.messages.stream(model=MODEL, max_tokens=10, messages=MESSAGES) as stream:
        stream.until_done()
    mine.beta.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert len(telemetry.spans()) == 3
    uninstrument_anthropic(mine)
    assert not {"create", "parse", "stream"} & set(vars(mine.messages))
    mine.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert len(telemetry.spans()) == 3


def test_missing_sdk_names_the_extra(monkeypatch, monitor):
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ImportError, match=r"pip install agents-hub-monitoring\[anthropic\]"):
        instrument_anthropic(monitor)


def test_monitor_methods_instrument_and_restore_anthropic(monitor):
    from anthropic.resources.messages import Messages

    original = Messages.create
    monitor.instrument_anthropic()
    assert Messages.create is not original
    monitor.uninstrument_anthropic()
    assert Messages.create is original


@pytest.mark.parametrize("helper", [False, True])
def test_error_event_mid_stream_passes_through(sync_client, monitor, telemetry, helper):
    client = sync_client("/cut/4")

    def consume() -> None:
        if helper:
            with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
                stream.until_done()
        else:
            list(client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True))

    with pytest.raises(anthropic.APIStatusError) as plain:
        consume()
    instrument_anthropic(monitor)
    with pytest.raises(anthropic.APIStatusError) as instrumented:
        consume()
    error = instrumented.value
    assert type(error) is type(plain.value) and str(error) == str(plain.value) and error.body == plain.value.body
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert span["status"] == "ERROR" and attrs["error.type"] == "APIStatusError"  # status 200: the SDK's base class
    # what arrived before the error is kept
    assert attrs["gen_ai.response.id"] == "msg_01XFDUDYJgAACzvnptvVoYEL" and attrs["agents_hub.time_to_first_chunk"] > 0
