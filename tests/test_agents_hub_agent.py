"""The real Agents Hub ``Agent`` (PyPI ``agents-hub``) driving our monitor, unchanged.

``agents-hub`` pulls in databases, browsers and NLP stacks; its ``Agent`` itself needs only
pydantic. CI installs it with ``--no-deps`` and we load ``agents_hub.agents.base`` without running
the package ``__init__`` files that import those stacks.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PACKAGES = ("agents_hub", "agents_hub.agents", "agents_hub.llm", "agents_hub.memory", "agents_hub.tools",
            "agents_hub.moderation", "agents_hub.monitoring")


@pytest.fixture(scope="module")
def agents_hub() -> Iterator[types.SimpleNamespace]:
    spec = importlib.util.find_spec("agents_hub")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("agents-hub is not installed: pip install --no-deps agents-hub==0.1.5")
    root = Path(next(iter(spec.submodule_search_locations)))
    saved = {name: module for name, module in sys.modules.items() if name.startswith("agents_hub")}
    for name in PACKAGES:
        package = types.ModuleType(name)
        package.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
        sys.modules[name] = package
    try:
        from agents_hub.agents.base import Agent
        from agents_hub.llm.base import BaseLLM, LLMResponse
        from agents_hub.tools.base import BaseTool

        yield types.SimpleNamespace(Agent=Agent, BaseLLM=BaseLLM, LLMResponse=LLMResponse, BaseTool=BaseTool)
    finally:
        for name in [n for n in sys.modules if n.startswith("agents_hub")]:
            del sys.modules[name]
        sys.modules.update(saved)


def _scripted_llm(hub: Any, replies: list[Any]) -> Any:
    class OpenAIProvider(hub.BaseLLM):  # the name the real provider class has
        model = "gpt-4o-mini"

        async def generate(self, messages: list[dict[str, Any]], tools: Any = None, temperature: float = 0.7,
                           max_tokens: int = 1000, **kwargs: Any) -> Any:
            reply = replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply

    return OpenAIProvider()


def _reply(hub: Any, content: str, tool_calls: list[dict[str, Any]] | None = None) -> Any:
    raw = {"id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18",
           "choices": [{"index": 0, "finish_reason": "tool_calls" if tool_calls else "stop",
                        "message": {"role": "assistant", "content": content or None}}],
           "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                     "prompt_tokens_details": {"cached_tokens": 100}}}
    return hub.LLMResponse(content=content, tool_calls=tool_calls, raw_response=raw)


def _weather_tool(hub: Any, fail: bool = False) -> Any:
    class Weather(hub.BaseTool):
        async def run(self, parameters: dict[str, Any], context: dict[str, Any] | None = None) -> Any:
            if fail:
                raise TimeoutError("weather service timed out")
            return {"temp_c": 18, "city": parameters["city"]}

    return Weather(name="weather", description="current weather",
                   parameters={"type": "object", "properties": {"city": {"type": "string"}}})


CALL = [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]


async def test_real_agent_turn_with_a_tool(agents_hub, monitor, telemetry):
    llm = _scripted_llm(agents_hub, [_reply(agents_hub, "", CALL), _reply(agents_hub, "18°C in Paris")])
    agent = agents_hub.Agent(name="assistant", llm=llm, tools=[_weather_tool(agents_hub)], monitor=monitor)
    answer = await agent.run("Weather in Paris?", context={"conversation_id": "c-1", "user_id": "u-1"})
    assert answer == "18°C in Paris"
    assert telemetry.tree() == [(0, "invoke_agent assistant"), (1, "chat gpt-4o-mini"), (1, "execute_tool weather")]
    root, llm_span, tool = (telemetry.span(n) for n in ("invoke_agent assistant", "chat gpt-4o-mini",
                                                         "execute_tool weather"))
    assert root["status"] == "UNSET" and root["attributes"]["output.value"] == "18°C in Paris"
    attrs = llm_span["attributes"]
    assert attrs["gen_ai.provider.name"] == "openai"  # from the class name OpenAIProvider
    assert attrs["gen_ai.usage.input_tokens"] == 120 and attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["gen_ai.usage.cost"] > 0
    assert tool["attributes"]["gen_ai.tool.call.result"] == '{"temp_c":18,"city":"Paris"}'
    assert {s["attributes"]["user.id"] for s in telemetry.spans()} == {"u-1"}


async def test_real_agent_failing_and_unknown_tools(agents_hub, monitor, telemetry):
    calls = [*CALL, {"id": "call_2", "type": "function", "function": {"name": "nope", "arguments": "{}"}}]
    llm = _scripted_llm(agents_hub, [_reply(agents_hub, "", calls), _reply(agents_hub, "Sorry.")])
    agent = agents_hub.Agent(name="assistant", llm=llm, tools=[_weather_tool(agents_hub, fail=True)],
                             monitor=monitor)
    assert await agent.run("Weather?", context={"conversation_id": "c-2"}) == "Sorry."
    assert telemetry.tree() == [(0, "invoke_agent assistant"), (1, "chat gpt-4o-mini"),
                                (1, "execute_tool weather"), (1, "error _OTHER")]
    assert telemetry.span("execute_tool weather")["status_message"] == (
        "Error running tool 'weather': weather service timed out")
    assert telemetry.span("error _OTHER")["status_message"] == "Tool 'nope' not found"
    assert telemetry.span("invoke_agent assistant")["attributes"]["agents_hub.error.count"] == 2


async def test_real_agent_llm_failure_leaves_an_error_trace(agents_hub, monitor, telemetry):
    llm = _scripted_llm(agents_hub, [RuntimeError("rate limited"), _reply(agents_hub, "hi")])
    agent = agents_hub.Agent(name="assistant", llm=llm, monitor=monitor)
    with pytest.raises(RuntimeError, match="rate limited"):
        await agent.run("hello", context={"conversation_id": "c-3"})
    assert await agent.run("hello again", context={"conversation_id": "c-3"}) == "hi"
    failed, ok = [s for s in telemetry.spans() if s["name"] == "invoke_agent assistant"]
    assert failed["status"] == "ERROR" and ok["status"] == "UNSET"
    first_llm = next(s for s in telemetry.spans() if s["name"] == "chat gpt-4o-mini")
    assert first_llm["status"] == "ERROR" and first_llm["status_message"] == "rate limited"
