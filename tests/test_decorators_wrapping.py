"""What a decorated call hands back (the same type as without the decorator), class decoration with
inheritance and delegation, decorating twice, and a shut-down monitor."""

from __future__ import annotations

import asyncio
import types
from typing import Any

from agents_hub_monitoring.instrument import agent, set_default_monitor, tool
from agents_hub_monitoring.monitors.base import BaseMonitor
from agents_hub_monitoring.testing import RecordingSpanExporter, capture

# --- return types --------------------------------------------------------------------------------------


def test_a_returned_generator_is_handed_back_untouched(monitor, telemetry):
    @monitor.tool
    def numbers() -> Any:
        return (n for n in range(3))

    @monitor.tool
    def stream() -> Any:
        async def items() -> Any:
            yield 1
        return items()

    generator, async_generator = numbers(), stream()
    assert isinstance(generator, types.GeneratorType) and isinstance(async_generator, types.AsyncGeneratorType)
    assert len(telemetry.spans()) == 2  # ended at return
    assert list(generator) == [0, 1, 2]
    span = telemetry.span("execute_tool numbers")
    assert span["attributes"]["agents_hub.outcome"] == "success"
    assert "gen_ai.tool.call.result" not in span["attributes"]  # nothing lazy is repr()-ed
    asyncio.run(async_generator.aclose())


async def test_an_async_function_returning_a_generator_hands_it_back(monitor, telemetry):
    @monitor.tool
    async def make() -> Any:
        return (n for n in range(2))

    result = await make()
    assert isinstance(result, types.GeneratorType) and list(result) == [0, 1]
    assert len(telemetry.spans()) == 1


class QuerySet:
    """Lazy, awaitable, with an API of its own (like an ORM query set); repr() would run the query."""

    def __init__(self) -> None:
        self.evaluated = 0

    def filter(self, **conditions: Any) -> QuerySet:
        return self

    def __await__(self) -> Any:
        return self._fetch().__await__()

    async def _fetch(self) -> list[int]:
        self.evaluated += 1
        return [1, 2]

    def __repr__(self) -> str:
        self.evaluated += 1
        return "<QuerySet [...]>"


async def test_a_returned_awaitable_that_is_not_a_coroutine_is_the_same_object(monitor, telemetry):
    query = QuerySet()

    @monitor.tool
    def lookup() -> QuerySet:
        return query

    result = lookup()
    assert result is query and result.filter(a=1) is query and query.evaluated == 0
    assert telemetry.span("execute_tool lookup")["attributes"]["agents_hub.outcome"] == "success"
    assert await result == [1, 2]


def test_llm_streams_keep_a_transparent_proxy(monitor, telemetry):
    @monitor.llm(model="m")
    def chunks() -> Any:
        return (text for text in ("a", "b"))

    @monitor.tool(stream=True)
    def items() -> Any:
        return (n for n in range(2))

    stream = chunks()
    assert not isinstance(stream, types.GeneratorType) and stream.gi_frame is not None  # attributes forwarded
    assert list(stream) == ["a", "b"] and list(items()) == [0, 1]
    assert telemetry.span("chat m")["attributes"]["agents_hub.stream.items"] == 2
    assert telemetry.span("execute_tool items")["attributes"]["agents_hub.stream.items"] == 2


# --- classes ---------------------------------------------------------------------------------------------

def test_delegation_between_run_and_call_is_one_agent_run(monitor, telemetry):
    @monitor.agent
    class Bot:
        def __call__(self, question: str) -> str:
            return self.run(question)

        def run(self, question: str) -> str:
            return self.answer(question)

        @monitor.tool
        def answer(self, question: str) -> str:
            return question.upper()

    assert Bot()("hi") == "HI"
    assert telemetry.tree() == [(0, "invoke_agent Bot"), (1, "execute_tool Bot.answer")]
    (runs,) = telemetry.metric_points("agents_hub.agent.runs")
    assert runs["value"] == 1


async def test_reentrancy_guard_is_per_object_and_per_current_span(monitor, telemetry):
    @monitor.agent
    class Team:
        def __init__(self, helper: Team | None = None) -> None:
            self.helper = helper

        async def arun(self, task: str) -> str:
            if self.helper is not None:
                return await self.helper.arun(task)  # another object: its own, nested run
            with monitor.span("step"):
                return self.run(task)  # under another span: a nested run too

        def run(self, task: str) -> str:
            return task

    assert await Team(Team()).arun("t") == "t"
    assert telemetry.tree() == [(0, "invoke_agent Team"), (1, "invoke_agent Team"), (2, "step"),
                                (3, "invoke_agent Team")]


def test_subclass_of_a_decorated_class_can_be_decorated(monitor, telemetry):
    @monitor.agent
    class Base:
        def run(self) -> str:
            return "base"

    @monitor.agent
    class Child(Base):
        pass

    @monitor.agent(name="Special", methods=("run",))
    class Special(Base):
        pass

    @monitor.agent
    class Override(Base):
        def run(self) -> str:
            return "override " + super().run()

    class Plain:
        def run(self) -> str:
            return "plain"

    @monitor.agent(methods=("run",))
    class FromPlain(Plain):
        pass

    assert (Base().run(), Child().run(), Special().run(), Override().run(), FromPlain().run()) == (
        "base", "base", "base", "override base", "plain")
    assert telemetry.tree() == [(0, "invoke_agent Base"), (0, "invoke_agent Child"), (0, "invoke_agent Special"),
                                (0, "invoke_agent Override"), (0, "invoke_agent FromPlain")]
    assert Plain().run() == "plain" and len(telemetry.spans()) == 5  # the base class is left alone


def test_decorating_twice_with_the_same_monitor_and_kind_is_one_span(monitor, telemetry):
    @monitor.tool
    @monitor.tool
    def twice() -> int:
        return 1

    @monitor.tool(name="outer")
    @monitor.tool(name="inner")
    def renamed() -> int:
        return 2

    @monitor.agent
    @monitor.tool
    def both() -> int:
        return 3

    @monitor.agent
    @monitor.agent
    class Bot:
        def run(self) -> int:
            return 4

    @monitor.agent
    class Explicit:
        @monitor.tool
        def run(self) -> int:  # decorated in the class body: kept as it is
            return 5

    assert (twice(), renamed(), both(), Bot().run(), Explicit().run()) == (1, 2, 3, 4, 5)
    assert telemetry.tree() == [(0, "execute_tool twice"), (0, "execute_tool outer"), (0, "invoke_agent both"),
                                (1, "execute_tool both"), (0, "invoke_agent Bot"), (0, "execute_tool Explicit.run")]
    with capture() as (other, other_telemetry):
        monitor.tool(other.tool(lambda: None))()  # two monitors: each records its own span
        assert len(other_telemetry.spans()) == 1


# --- shutdown --------------------------------------------------------------------------------------------

def test_a_shut_down_monitor_lets_calls_straight_through():
    exporter = RecordingSpanExporter()
    monitor = BaseMonitor(exporters=[exporter])

    @monitor.tool
    def sync(x: int) -> int:
        return x

    @monitor.tool
    async def coroutine(x: int) -> int:
        return x

    @monitor.tool
    def generator() -> Any:
        yield 1

    @monitor.tool
    async def async_generator() -> Any:
        yield 2

    @tool
    def module_level() -> int:
        return 5

    async def run_async() -> list[Any]:
        return [await coroutine(3), *[item async for item in async_generator()]]

    monitor.shutdown()
    previous = set_default_monitor(monitor)
    try:
        assert (sync(1), asyncio.run(run_async()), list(generator()), module_level()) == (1, [3, 2], [1], 5)
    finally:
        set_default_monitor(previous)
    assert exporter.get_finished_spans() == () and monitor._instruments.pending == 0


def test_module_level_class_decorator_with_delegation():
    @agent
    class Bot:
        def __call__(self) -> str:
            return self.run()

        def run(self) -> str:
            return "ok"

    with capture() as (monitor, telemetry):
        previous = set_default_monitor(monitor)
        try:
            assert Bot()() == "ok"
        finally:
            set_default_monitor(previous)
        assert telemetry.tree() == [(0, "invoke_agent Bot")]
