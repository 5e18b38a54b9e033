"""OpenAI SDK paths beyond plain ``create``: leaving the ``.stream()`` helpers early, the raw and
streaming response wrappers, and an error event in the middle of a stream.

Spans are checked right after the ``with`` block with the garbage collector off and the helper's
stream still referenced: ending the span must not depend on the stream being collected.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from llm_servers.openai_shapes import CHAT_TEXT
from sdk_support import only_span

from agents_hub_monitoring.instrument.openai import instrument_openai, uninstrument_openai

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def _uninstrumented_after() -> Iterator[None]:
    yield
    uninstrument_openai()


@pytest.fixture
def no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()




def assert_closed_early(telemetry: Any) -> dict[str, Any]:
    span = only_span(telemetry)  # ended already: spans are captured as they end
    attrs = span["attributes"]
    assert span["status"] == "UNSET" and attrs["agents_hub.outcome"] == "closed"
    assert attrs["agents_hub.time_to_first_chunk"] > 0 and "gen_ai.response.finish_reasons" not in attrs
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["count"] == 1 and "error.type" not in duration["attributes"]
    return span


def helper(client: Any, api: str) -> Any:
    if api == "chat":
        return client.chat.completions.stream(model=MODEL, messages=MESSAGES)
    return client.responses.stream(model="o4-mini", input="Capital of France?")


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_stream_helper_left_early_ends_the_span(openai_sync_client, monitor, telemetry, no_gc, api):
    instrument_openai(monitor)
    with helper(openai_sync_client(), api) as stream:
        for _event in stream:
            break
        assert telemetry.spans() == []
    assert_closed_early(telemetry)
    assert stream is not None  # still referenced: nothing was collected


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_stream_helper_close_ends_the_span(openai_sync_client, monitor, telemetry, no_gc, api):
    instrument_openai(monitor)
    manager = helper(openai_sync_client(), api)
    stream = manager.__enter__()
    next(iter(stream))
    stream.close()
    assert_closed_early(telemetry)
    manager.__exit__(None, None, None)  # closing again changes nothing
    assert len(telemetry.spans()) == 1


@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_async_stream_helper_left_early_ends_the_span(openai_async_client, monitor, telemetry, no_gc, api):
    instrument_openai(monitor)
    async with helper(openai_async_client(), api) as stream:
        async for _event in stream:
            break
        assert telemetry.spans() == []
    assert_closed_early(telemetry)
    await stream.close()
    assert len(telemetry.spans()) == 1


async def test_async_stream_helper_close_ends_the_span(openai_async_client, monitor, telemetry, no_gc):
    instrument_openai(monitor)
    stream = await helper(openai_async_client(), "chat").__aenter__()
    await stream.__anext__()
    await stream.close()
    assert_closed_early(telemetry)


def test_stream_helper_read_to_the_end_succeeds(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    with helper(openai_sync_client(), "chat") as stream:
        assert stream.get_final_completion().choices[0].message.content == CHAT_TEXT
    attrs = only_span(telemetry)["attributes"]
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",) and "agents_hub.outcome" not in attrs


def test_stream_response_is_the_sdk_response(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    stream = openai_sync_client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    response = stream.response
    assert response is stream.response and isinstance(response, type(stream.response))
    assert response.status_code == 200 and response.headers["x-request-id"]
    assert list(stream)[-1].choices[0].finish_reason == "stop"
    assert "agents_hub.outcome" not in only_span(telemetry)["attributes"]


def test_with_raw_response(openai_sync_client, monitor, telemetry):
    client = openai_sync_client()
    plain = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    instrument_openai(monitor)
    client = openai_sync_client()  # with_raw_response binds the method when first used
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES, temperature=0.5)
    assert type(raw) is type(plain) and raw.headers["x-request-id"] == plain.headers["x-request-id"]
    assert raw.parse().model_dump() == plain.parse().model_dump()
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert span["name"] == f"chat {MODEL}" and span["status"] == "UNSET"
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert not [key for key in attrs if key.startswith("gen_ai.usage.") or key.startswith("gen_ai.response.")]


async def test_with_raw_response_async_stream(openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    raw = await openai_async_client().chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES,
                                                                         stream=True)
    assert only_span(telemetry)["attributes"]["gen_ai.request.stream"] is True  # ended with the response
    chunks = [chunk async for chunk in raw.parse()]
    assert chunks[-1].choices[0].finish_reason == "stop" and len(telemetry.spans()) == 1


def test_with_streaming_response(openai_sync_client, monitor, telemetry):
    instrument_openai(monitor)
    client = openai_sync_client()
    with client.chat.completions.with_streaming_response.create(model=MODEL, messages=MESSAGES) as response:
        assert response.http_request.headers["x-stainless-raw-response"] == "stream"
        completion = response.parse()
    assert completion.choices[0].message.content == CHAT_TEXT
    with client.responses.with_streaming_response.create(model="o4-mini", input="hi") as response:
        assert response.parse().output_text
    spans = telemetry.spans()
    assert [s["name"] for s in spans] == [f"chat {MODEL}", "chat o4-mini"]
    assert not [key for s in spans for key in s["attributes"] if key.startswith("gen_ai.usage.")]


def test_error_event_mid_stream_passes_through(openai_sync_client, monitor, telemetry):
    client = openai_sync_client("/cut/3")
    with pytest.raises(openai.APIError) as plain:
        list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    instrument_openai(monitor)
    received = []
    with pytest.raises(openai.APIError) as instrumented:
        for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            received.append(chunk)
    error = instrumented.value
    assert type(error) is type(plain.value) and str(error) == str(plain.value) and error.body == plain.value.body
    assert len(received) == 3
    span = only_span(telemetry)
    attrs = span["attributes"]
    assert span["status"] == "ERROR" and attrs["error.type"] == "APIError"
    assert attrs["agents_hub.time_to_first_chunk"] > 0  # what arrived before the error is kept
    assert attrs["gen_ai.response.id"] == "chatcmpl-APfFPGn2c0eAKQyAvbJ6JDOz7zW7K"
    (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
    assert duration["attributes"]["error.type"] == "APIError"


async def test_error_event_mid_stream_async_helper(openai_async_client, monitor, telemetry):
    instrument_openai(monitor)
    with pytest.raises(openai.APIError, match="server had an error"):
        async with openai_async_client("/cut/2").chat.completions.stream(model=MODEL, messages=MESSAGES) as stream:
            await stream.get_final_completion()
    span = only_span(telemetry)
    assert span["status"] == "ERROR" and span["attributes"]["error.type"] == "APIError"
