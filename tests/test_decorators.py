"""Decorator forms, what each kind records, capture switches, and errors passing through unchanged."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

from agents_hub_monitoring.instrument import agent, get_default_monitor, observe, retrieval, set_default_monitor, tool
from agents_hub_monitoring.testing import capture


def attrs(telemetry: Any, name: str) -> dict[str, Any]:
    return telemetry.span(name)["attributes"]


# --- forms ----------------------------------------------------------------------------------------------

def test_bare_with_arguments_and_positional_name(monitor, telemetry):
    @monitor.tool
    def search(query: str) -> str:
        """Search the web.

        Longer text that is not part of the description."""
        return "hits"

    @monitor.tool(name="lookup", capture_input=False)
    def find(query: str) -> str:
        return "found"

    @monitor.tool("fetch")
    def fetch(url: str) -> str:
        return "page"

    assert (search("a"), find("b"), fetch("c")) == ("hits", "found", "page")
    assert telemetry.span_names() == ["execute_tool search", "execute_tool lookup", "execute_tool fetch"]
    first = attrs(telemetry, "execute_tool search")
    assert first["gen_ai.tool.description"] == "Search the web."
    assert first["gen_ai.tool.call.arguments"] == '{"query":"a"}' and first["gen_ai.tool.call.result"] == "hits"
    assert "gen_ai.tool.call.arguments" not in attrs(telemetry, "execute_tool lookup")


def test_wrappers_keep_metadata_and_shape(monitor):
    async def coroutine(a: int) -> int:
        """Doc."""
        return a

    def generator(a: int) -> Any:
        yield a

    async def async_generator(a: int) -> Any:
        yield a

    for function, check in ((coroutine, inspect.iscoroutinefunction), (generator, inspect.isgeneratorfunction),
                            (async_generator, inspect.isasyncgenfunction)):
        wrapped = monitor.observe(function)
        assert check(wrapped) and wrapped.__name__ == function.__name__ and wrapped.__wrapped__ is function
        assert inspect.signature(wrapped) == inspect.signature(function)
    assert monitor.observe(coroutine).__doc__ == "Doc."


def test_methods_classmethods_and_staticmethods_in_either_order(monitor, telemetry):
    class Service:
        factor = 10

        @monitor.tool
        def method(self, x: int) -> int:
            return x * self.factor

        @monitor.tool
        @classmethod
        def outer_cls(cls, x: int) -> int:
            return x * cls.factor

        @classmethod
        @monitor.tool
        def inner_cls(cls, x: int) -> int:
            return x + cls.factor

        @monitor.tool
        @staticmethod
        def outer_static(x: int) -> int:
            return -x

        @staticmethod
        @monitor.tool
        def inner_static(x: int) -> int:
            return x

    service = Service()
    assert (service.method(1), Service.outer_cls(2), Service.inner_cls(3), service.outer_static(4),
            Service.inner_static(5)) == (10, 20, 13, -4, 5)
    for name, arguments in (("method", '{"x":1}'), ("outer_cls", '{"x":2}'), ("inner_cls", '{"x":3}'),
                            ("outer_static", '{"x":4}'), ("inner_static", '{"x":5}')):
        # Named after the qualified name without "<locals>"; self/cls are left out of the arguments.
        assert attrs(telemetry, f"execute_tool Service.{name}")["gen_ai.tool.call.arguments"] == arguments


def test_class_decorator_default_and_named_methods(monitor, telemetry):
    @monitor.agent
    class Planner:
        def run(self, goal: str) -> str:
            return f"plan for {goal}"

        async def arun(self, goal: str) -> str:
            return self.run(goal)

        def helper(self) -> str:
            return "untouched"

    @monitor.tool(methods=["plan", "act"])
    class Worker:
        def plan(self) -> str:
            return "p"

        def act(self, step: int) -> int:
            return step

    assert asyncio.run(Planner().arun("Rome")) == "plan for Rome" and Planner().helper() == "untouched"
    assert (Worker().plan(), Worker().act(3)) == ("p", 3)
    # arun calling run on the same object is one agent run, not two nested ones (re-entrancy guard).
    assert telemetry.tree()[:2] == [(0, "invoke_agent Planner"), (0, "execute_tool Worker.plan")]
    (runs,) = telemetry.metric_points("agents_hub.agent.runs")
    assert runs["value"] == 1
    assert attrs(telemetry, "execute_tool Worker.act")["gen_ai.tool.call.arguments"] == '{"step":3}'
    assert "execute_tool Worker.plan" in telemetry.span_names()

    with pytest.raises(TypeError, match="no run, arun or __call__"):
        monitor.agent(type("Empty", (), {}))
    with pytest.raises(AttributeError, match="missing"):
        monitor.tool(methods=("missing",))(Worker)
    with pytest.raises(ValueError, match="unknown kind"):
        monitor.observe(kind="bogus")


def test_callable_class_instance_is_instrumented_through_call(monitor, telemetry):
    @monitor.agent(name="bot")
    class Bot:
        async def __call__(self, message: str) -> str:
            return message.upper()

    assert asyncio.run(Bot()("hi")) == "HI"
    assert attrs(telemetry, "invoke_agent bot")["output.value"] == "HI"


def test_module_level_decorators_use_the_default_monitor_at_call_time():
    @agent
    def planner(goal: str) -> str:
        return helper(goal)

    @tool
    def helper(goal: str) -> str:
        return goal[::-1]

    @observe(kind="memory", name="recall", store="redis")
    def recall() -> list[str]:
        return ["a", "b"]

    @retrieval("kb")
    def search(query: str) -> list[str]:
        return ["doc"]

    assert get_default_monitor() is None
    assert planner("abc") == "cba" and recall() == ["a", "b"]  # no monitor: straight through
    with capture() as (monitor, telemetry):
        previous = set_default_monitor(monitor)
        try:
            assert previous is None and get_default_monitor() is monitor
            assert planner("abc") == "cba" and recall() == ["a", "b"] and search("q") == ["doc"]
        finally:
            set_default_monitor(None)
        assert planner("xy") == "yx"  # unset again: not recorded
        assert telemetry.tree() == [(0, "invoke_agent planner"), (1, "execute_tool helper"), (0, "recall"),
                                    (0, "retrieval kb")]
    with pytest.raises(TypeError):
        set_default_monitor(object())  # type: ignore[arg-type]


def test_retrieval_is_both_context_manager_and_decorator(monitor, telemetry):
    with monitor.retrieval("kb", query="capital of France") as handle:
        handle.set_documents(["Paris"], scores=[0.9])

    @monitor.retrieval("docs")
    def search(query: str, k: int = 2) -> list[dict[str, Any]]:
        return [{"text": "a", "score": 0.5}, {"text": "b", "score": 0.25}][:k]

    @monitor.retrieval
    def lookup(query: str) -> list[str]:
        return []

    search("what", k=2)
    lookup("x")
    assert attrs(telemetry, "retrieval kb")["gen_ai.retrieval.query.text"] == "capital of France"
    docs = attrs(telemetry, "retrieval docs")
    assert docs["gen_ai.retrieval.query.text"] == "what" and docs["agents_hub.result.count"] == 2
    assert docs["agents_hub.result.scores"] == (0.5, 0.25) and docs["gen_ai.data_source.id"] == "docs"
    assert attrs(telemetry, "retrieval lookup")["agents_hub.result.count"] == 0
    (documents,) = telemetry.metric_points("agents_hub.retrieval.documents", gen_ai__data_source__id="docs")
    assert documents["sum"] == 2


# --- kinds ----------------------------------------------------------------------------------------------

def test_agent_names_nest_and_feed_tool_metrics(monitor, telemetry):
    class Researcher:
        @monitor.agent
        def run(self, topic: str) -> str:
            return self.lookup(topic)

        @monitor.tool
        def lookup(self, topic: str) -> str:
            return topic * 2

    assert Researcher().run("ab") == "abab"
    run = attrs(telemetry, "invoke_agent Researcher.run")
    assert run["gen_ai.agent.name"] == "Researcher.run" and run["input.value"] == '{"topic":"ab"}'
    assert run["output.value"] == "abab" and run["agents_hub.outcome"] == "success"
    (calls,) = telemetry.metric_points("agents_hub.tool.calls")
    assert calls["attributes"] == {"gen_ai.tool.name": "Researcher.lookup", "gen_ai.agent.name": "Researcher.run"}
    (runs,) = telemetry.metric_points("agents_hub.agent.runs")
    assert runs["attributes"] == {"gen_ai.agent.name": "Researcher.run"} and runs["value"] == 1


def test_llm_reads_model_parameters_and_openai_style_response(monitor, telemetry):
    @monitor.llm(provider="openai")
    def complete(model: str, messages: list[dict[str, str]], temperature: float = 1.0, n: int = 1) -> dict:
        return {"id": "r-1", "model": f"{model}-2024-08-06",
                "choices": [{"message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 3,
                          "prompt_tokens_details": {"cached_tokens": 2}}}

    complete("gpt-4o", [{"role": "user", "content": "capital?"}], temperature=0.1, n=2)
    span = attrs(telemetry, "chat gpt-4o")
    assert span["gen_ai.request.model"] == "gpt-4o" and span["gen_ai.provider.name"] == "openai"
    assert span["gen_ai.request.temperature"] == 0.1 and span["gen_ai.request.choice.count"] == 2
    assert span["gen_ai.response.model"] == "gpt-4o-2024-08-06" and span["gen_ai.response.id"] == "r-1"
    assert span["gen_ai.usage.input_tokens"] == 12 and span["gen_ai.usage.output_tokens"] == 3
    assert span["gen_ai.usage.cache_read.input_tokens"] == 2
    assert span["gen_ai.response.finish_reasons"] == ("stop",)
    assert '"content":"capital?"' in span["gen_ai.input.messages"]
    assert '"content":"Paris"' in span["gen_ai.output.messages"]
    assert span["gen_ai.usage.cost"] > 0
    tokens = {p["attributes"]["gen_ai.token.type"]: p["sum"] for p in telemetry.metric_points(
        "gen_ai.client.token.usage")}
    assert tokens == {"input": 12, "output": 3}


def test_llm_anthropic_style_stream_and_text_result(monitor, telemetry):
    @monitor.llm(model="claude-sonnet-4-5", provider="anthropic")
    async def stream(prompt: str) -> Any:
        yield {"type": "message_start", "message": {"id": "m1", "model": "claude-sonnet-4-5-20250929",
                                                    "usage": {"input_tokens": 20, "output_tokens": 1}}}
        yield {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}
        yield {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}

    @monitor.llm(model="local")
    def plain(prompt: str) -> str:
        return "just text"

    async def consume() -> list[Any]:
        return [chunk async for chunk in stream("hello")]

    assert len(asyncio.run(consume())) == 3 and plain("x") == "just text"
    span = attrs(telemetry, "chat claude-sonnet-4-5")
    assert span["gen_ai.usage.input_tokens"] == 20 and span["gen_ai.usage.output_tokens"] == 5
    assert span["gen_ai.response.finish_reasons"] == ("end_turn",) and span["agents_hub.stream.items"] == 3
    assert span["agents_hub.time_to_first_chunk"] >= 0
    assert '"content":"hello"' in span["gen_ai.input.messages"] and '"content":"Hi"' in span["gen_ai.output.messages"]
    assert '"content":"just text"' in attrs(telemetry, "chat local")["gen_ai.output.messages"]
    assert telemetry.metric_points("gen_ai.client.operation.time_to_first_chunk")[0]["count"] == 1


def test_memory_moderation_and_plain_spans(monitor, telemetry):
    @monitor.observe(kind="memory", operation="search_memory", store="vector")
    def remember(user: str) -> list[str]:
        return ["likes tea", "lives in Oslo"]

    @monitor.observe(kind="moderation", name="input-filter")
    def moderate(text: str) -> dict[str, Any]:
        return {"flagged": True, "category": "hate", "action": "block", "score": 0.97}

    @monitor.observe(name="step", attributes={"team": "search"})
    def step() -> None:
        return None

    remember("u1"), moderate("text"), step()
    memory = attrs(telemetry, "search_memory")
    assert memory["agents_hub.memory.store"] == "vector" and memory["agents_hub.result.count"] == 2
    guard = attrs(telemetry, "apply_guardrail input-filter")
    assert guard["agents_hub.moderation.flagged"] is True and guard["agents_hub.moderation.action"] == "block"
    assert attrs(telemetry, "step") == {"team": "search"}


# --- capture ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Order:
    id: int
    secret: str = dataclasses.field(default="s3cr3t", repr=False)


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_any_argument_is_serialised_safely(monitor, telemetry):
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)

    @monitor.tool
    def handle(order: Order, blob: bytes, tags: set[str], loop: list[Any], odd: BrokenRepr, *rest: Any,
               **extra: Any) -> BrokenRepr:
        return odd

    handle(Order(1), b"\x00\x01", {"b", "a"}, cyclic, BrokenRepr(), 5, flag=True)
    arguments = attrs(telemetry, "execute_tool handle")["gen_ai.tool.call.arguments"]
    assert '"order":{"id":1}' in arguments and "s3cr3t" not in arguments
    assert '"blob":"<bytes len=2 sha256=' in arguments and '"tags":["a","b"]' in arguments
    assert '"loop":[1,"<cycle>"]' in arguments and '"odd":"<unrepresentable BrokenRepr>"' in arguments
    assert '"rest":[5]' in arguments and '"extra":{"flag":true}' in arguments
    assert attrs(telemetry, "execute_tool handle")["gen_ai.tool.call.result"] == "<unrepresentable BrokenRepr>"


def test_pydantic_models_are_serialised():
    pydantic = pytest.importorskip("pydantic")

    class Query(pydantic.BaseModel):
        text: str
        limit: int = 3

    with capture() as (monitor, telemetry):
        monitor.tool(lambda query: query)(Query(text="hi"))
        assert attrs(telemetry, "execute_tool <lambda>")["gen_ai.tool.call.result"] == '{"text":"hi","limit":3}'


def test_capture_switches_and_size_limit():
    with capture(capture_content=False) as (monitor, telemetry):
        monitor.agent(lambda question: "answer")("secret question")
        assert set(attrs(telemetry, "invoke_agent <lambda>")) == {
            "gen_ai.operation.name", "gen_ai.agent.name", "agents_hub.outcome"}
    with capture() as (monitor, telemetry):
        monitor.tool(capture_output=False)(lambda q: "result")("query")
        monitor.agent(name="long")(lambda text: None)("x" * 20_000)
        quiet = attrs(telemetry, "execute_tool <lambda>")
        assert quiet["gen_ai.tool.call.arguments"] == '{"q":"query"}' and "gen_ai.tool.call.result" not in quiet
        long_input = attrs(telemetry, "invoke_agent long")["input.value"]
        assert len(long_input) <= 10_000 and long_input.endswith("]")
        assert "…[truncated" in long_input


# --- errors ----------------------------------------------------------------------------------------------

def test_exception_is_the_same_object_with_its_traceback(monitor, telemetry):
    error = ValueError("bad input")

    @monitor.tool
    def parse(text: str) -> None:
        raise error

    with pytest.raises(ValueError) as raised:
        parse("x")
    assert raised.value is error and error.__context__ is None and error.__cause__ is None
    assert traceback.extract_tb(error.__traceback__)[-1].name == "parse"  # innermost frame is the user's
    span = telemetry.span("execute_tool parse")
    assert span["status"] == "ERROR" and span["attributes"]["error.type"] == "ValueError"
    assert span["attributes"]["agents_hub.outcome"] == "error"
    (calls,) = telemetry.metric_points("agents_hub.tool.calls")
    assert calls["attributes"]["error.type"] == "ValueError"


def test_stop_iteration_from_a_function_is_an_error_and_keeps_the_iterator_protocol(monitor, telemetry):
    @monitor.tool
    def pop(items: list[int]) -> int:
        if not items:
            raise StopIteration
        return items.pop()

    class Drain:
        def __init__(self, items: list[int]) -> None:
            self.items = items

        def __iter__(self) -> Drain:
            return self

        def __next__(self) -> int:
            return pop(self.items)

    assert list(Drain([1, 2])) == [2, 1]  # StopIteration passed through: the loop ended normally
    statuses = [(s["status"], s["attributes"].get("error.type")) for s in telemetry.spans()]
    assert statuses == [("UNSET", None), ("UNSET", None), ("ERROR", "StopIteration")]


def test_generator_exit_inside_a_generator_is_a_close_not_an_error(monitor, telemetry):
    cleaned = []

    @monitor.tool
    def numbers() -> Any:
        try:
            yield 1
            yield 2
        finally:
            cleaned.append(True)

    generator = numbers()
    assert next(generator) == 1
    generator.close()
    span = telemetry.span("execute_tool numbers")
    assert cleaned == [True] and span["status"] == "UNSET" and span["attributes"]["agents_hub.outcome"] == "closed"


def test_internal_failure_never_breaks_the_call(monitor, telemetry, monkeypatch, caplog):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("tracer down")

    @monitor.tool
    def add(a: int, b: int) -> int:
        return a + b

    @monitor.tool
    def count() -> Any:
        yield from range(3)

    monkeypatch.setattr(monitor._tracer, "start_span", broken)
    assert add(1, 2) == 3 and list(count()) == [0, 1, 2]
    assert telemetry.spans() == [] and "internal failure in decorated call start" in caplog.text


def test_example_runs():
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "examples/decorators.py"], cwd=root, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for line in ("invoke_agent TravelAgent ", "invoke_agent TravelAgent.plan", "chat gpt-4o-mini",
                 "retrieval travel-kb", "execute_tool convert", "execute_tool weather",
                 "execute_tool book_hotel", "ERROR ConnectionError"):
        assert line in result.stdout
