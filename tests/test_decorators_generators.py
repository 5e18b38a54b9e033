"""Decorated generators run in their consumer's context, like undecorated ones: ``@contextmanager``,
``@asynccontextmanager``, FastAPI-style dependencies and pytest yield-fixtures see the body's
ContextVar changes and spans; our span is current in the body only, never in the consumer."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context

from agents_hub_monitoring.instrument import set_default_monitor, tool

SESSION: contextvars.ContextVar[str | None] = contextvars.ContextVar("session", default=None)


@pytest.fixture
def detach_errors(caplog):
    caplog.set_level(logging.ERROR, logger="opentelemetry.context")
    yield lambda: [r for r in caplog.records if "detach" in r.getMessage().lower()]


def current_name() -> str | None:
    span = trace.get_current_span()
    return getattr(span, "name", None) if span is not trace.INVALID_SPAN else None


def parent_of(telemetry: Any, name: str) -> str | None:
    span = telemetry.span(name)
    by_id = {s["span_id"]: s["name"] for s in telemetry.spans()}
    return by_id.get(span["parent_span_id"])


# --- @contextmanager / @asynccontextmanager ------------------------------------------------------------

def test_contextmanager_sees_the_body_contextvar_and_parents_like_without_the_decorator(monitor, telemetry):
    @contextlib.contextmanager
    @monitor.agent(name="session")
    def session() -> Iterator[str]:
        token = SESSION.set("in-session")
        try:
            with monitor.span("setup"):
                pass  # made in the body: a child of our span
            yield "s-1"
        finally:
            SESSION.reset(token)

    with monitor.span("request"):
        with session() as value:
            inside = (value, SESSION.get(), current_name())
            with monitor.span("child"):
                pass
        after = (SESSION.get(), current_name())
    assert inside == ("s-1", "in-session", "request")  # the body's var; the consumer's span, not ours
    assert after == (None, "request")
    assert parent_of(telemetry, "child") == "request"  # as it would be without the decorator
    assert parent_of(telemetry, "setup") == "invoke_agent session"
    assert parent_of(telemetry, "invoke_agent session") == "request"


def test_contextmanager_whose_body_opens_a_span_around_yield(monitor, telemetry, detach_errors):
    @contextlib.contextmanager
    @monitor.tool(name="transaction")
    def transaction() -> Iterator[None]:
        with monitor.span("inner"):
            yield

    with transaction():
        assert current_name() == "inner"  # the body's own span, as without the decorator
        with monitor.span("child"):
            pass
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert parent_of(telemetry, "child") == "inner"
    assert parent_of(telemetry, "inner") == "execute_tool transaction"
    assert detach_errors() == []


async def test_asynccontextmanager_and_a_fastapi_style_dependency(monitor, telemetry):
    @contextlib.asynccontextmanager
    @monitor.tool(name="get_db")
    async def get_db() -> Any:
        token = SESSION.set("db-session")
        await asyncio.sleep(0)
        try:
            yield "db"
        finally:
            await asyncio.sleep(0)
            SESSION.reset(token)

    async def endpoint() -> tuple[Any, ...]:
        # What FastAPI does with a yield dependency: enter it on an exit stack around the endpoint.
        async with contextlib.AsyncExitStack() as stack:
            db = await stack.enter_async_context(get_db())
            with monitor.span("handler"):
                await asyncio.sleep(0)
            return db, SESSION.get(), current_name()

    with monitor.span("request"):
        assert await endpoint() == ("db", "db-session", "request")
        assert SESSION.get() is None
    assert parent_of(telemetry, "handler") == "request"
    assert telemetry.span("execute_tool get_db")["attributes"]["agents_hub.outcome"] == "success"


@pytest.fixture
def default_monitor(monitor):
    set_default_monitor(monitor)
    yield monitor
    set_default_monitor(None)


@pytest.fixture
@tool(name="session_fixture", capture_input=False)
def session_fixture(default_monitor: Any) -> Iterator[str]:
    token = SESSION.set("from-fixture")
    try:
        yield "fixture-value"
    finally:
        SESSION.reset(token)


def test_pytest_yield_fixture_decorated(session_fixture, telemetry):
    assert session_fixture == "fixture-value"
    assert SESSION.get() == "from-fixture"  # set in the fixture's body, seen by the test
    assert trace.get_current_span() is trace.INVALID_SPAN  # our span is not current here
    assert telemetry.spans() == []  # the fixture's span ends at teardown


async def test_a_conversation_bound_in_the_body_is_seen_in_the_with_block_only(monitor, telemetry):
    @contextlib.asynccontextmanager
    @monitor.tool(name="convo")
    async def convo() -> Any:
        async with monitor.conversation("c-body"):
            yield

    async with monitor.span("outer"):
        async with convo():
            with monitor.span("child"):
                pass
        with monitor.span("after"):
            pass
    conversations = {s["name"]: s["attributes"].get("gen_ai.conversation.id") for s in telemetry.spans()}
    assert conversations == {"child": "c-body", "after": None, "outer": None, "execute_tool convo": None}


def test_the_body_keeps_the_conversation_and_agent_it_started_under(monitor, telemetry):
    mark = monitor.observe(name="mark")(lambda: None)
    lookup = monitor.tool(name="lookup")(lambda: None)

    @monitor.agent(name="writer")
    def writer() -> Any:
        mark()
        yield 1
        mark()
        lookup()
        yield 2

    with monitor.conversation("c-start"):
        generator = writer()
        next(generator)
    with monitor.conversation("c-other"):
        next(generator)
        with monitor.span("consumer"):
            pass
    assert list(generator) == []
    conversations = [(s["name"], s["attributes"].get("gen_ai.conversation.id")) for s in telemetry.spans()]
    assert sorted(conversations) == [("consumer", "c-other"), ("execute_tool lookup", "c-start"),
                                     ("invoke_agent writer", "c-start"), ("mark", "c-start"), ("mark", "c-start")]
    (calls,) = telemetry.metric_points("agents_hub.tool.calls")
    assert calls["attributes"]["gen_ai.agent.name"] == "writer"  # consumed outside any agent


# --- equivalence with the undecorated generator ----------------------------------------------------------

def _observe(pages: Any) -> list[Any]:
    def run() -> list[Any]:
        seen = []
        for item in pages():
            seen.append((item, SESSION.get(), current_name(), baggage.get_baggage("k")))
        return [*seen, (SESSION.get(), current_name(), baggage.get_baggage("k"))]

    return contextvars.copy_context().run(run)  # the body leaks on purpose: keep it out of other tests


def test_generator_body_context_reaches_the_consumer_as_without_the_decorator(monitor, telemetry):
    def pages() -> Any:
        SESSION.set("pages")  # never reset: the consumer keeps it, decorated or not
        yield 1
        with monitor.span("a"):  # spans opened around yields, closed a few steps later
            yield 2
            with monitor.span("b"):
                yield 3
            yield 4
        yield 5
        otel_context.attach(baggage.set_baggage("k", "v"))  # a context change without a span, kept
        yield 6

    plain = _observe(pages)
    assert plain == [(1, "pages", None, None), (2, "pages", "a", None), (3, "pages", "b", None),
                     (4, "pages", "a", None), (5, "pages", None, None), (6, "pages", None, "v"),
                     ("pages", None, "v")]
    telemetry.clear()
    assert _observe(monitor.tool(pages)) == plain  # our span is never what the consumer sees
    assert telemetry.tree() == [(0, "execute_tool pages"), (1, "a"), (2, "b")]


# --- resumption elsewhere, send / throw / close ------------------------------------------------------------

def test_generator_resumed_in_another_thread(monitor, telemetry, detach_errors):
    mark = monitor.observe(name="mark")(lambda: None)

    @monitor.tool
    def steps() -> Any:
        for index in range(3):
            mark()
            yield index

    generator = steps()
    assert next(generator) == 0
    assert trace.get_current_span() is trace.INVALID_SPAN
    with ThreadPoolExecutor(1) as pool:  # our span is laid on the worker's own context for each step
        assert pool.submit(lambda: [*generator, current_name()]).result() == [1, 2, None]
    ours = telemetry.span("execute_tool steps")
    assert [s["parent_span_id"] for s in telemetry.spans() if s["name"] == "mark"] == [ours["span_id"]] * 3
    assert ours["attributes"]["agents_hub.outcome"] == "success" and detach_errors() == []


async def test_async_generator_resumed_from_another_task(monitor, telemetry):
    mark = monitor.observe(name="mark")(lambda: None)

    @monitor.tool
    async def feed() -> Any:
        for index in range(3):
            await asyncio.sleep(0)
            mark()
            yield index

    generator = feed()
    assert await generator.__anext__() == 0

    async def rest() -> list[Any]:
        items = [item async for item in generator]
        return [*items, current_name()]

    assert await asyncio.create_task(rest()) == [1, 2, None]
    assert current_name() is None
    ours = telemetry.span("execute_tool feed")
    assert [s["parent_span_id"] for s in telemetry.spans() if s["name"] == "mark"] == [ours["span_id"]] * 3


def test_send_throw_and_close_are_forwarded(monitor, telemetry):
    @monitor.tool
    def echo() -> Any:
        received = yield "ready"
        while True:
            try:
                received = yield f"got {received}"
            except ValueError as error:
                received = yield f"handled {error}"

    generator = echo()
    assert next(generator) == "ready"
    assert generator.send("a") == "got a"
    assert generator.throw(ValueError("bad")) == "handled bad"
    assert generator.send("b") == "got b"
    generator.close()
    span = telemetry.span("execute_tool echo")
    assert span["status"] == "UNSET" and span["attributes"]["agents_hub.outcome"] == "closed"
    assert span["attributes"]["agents_hub.stream.items"] == 4


def test_an_exception_thrown_in_and_not_handled_fails_the_span(monitor, telemetry):
    @monitor.tool
    def once() -> Any:
        yield 1

    generator = once()
    next(generator)
    error = KeyError("k")
    with pytest.raises(KeyError) as raised:
        generator.throw(error)
    assert raised.value is error
    assert telemetry.span("execute_tool once")["attributes"]["error.type"] == "KeyError"


async def test_asend_athrow_and_aclose_are_forwarded(monitor, telemetry):
    @monitor.tool
    async def echo() -> Any:
        received = yield "ready"
        while True:
            try:
                received = yield f"got {received}"
            except ValueError:
                received = yield "handled"

    generator = echo()
    assert await generator.asend(None) == "ready"
    assert await generator.asend("a") == "got a"
    assert await generator.athrow(ValueError("bad")) == "handled"
    await generator.aclose()
    assert telemetry.span("execute_tool echo")["attributes"]["agents_hub.outcome"] == "closed"


def test_recursive_generator_closed_early(monitor, telemetry):
    @monitor.tool
    def walk(depth: int) -> Any:
        yield depth
        if depth < 3:
            yield from walk(depth + 1)

    generator = walk(0)
    assert [next(generator), next(generator), next(generator)] == [0, 1, 2]
    generator.close()
    del generator
    gc.collect()
    assert [depth for depth, _ in telemetry.tree()] == [0, 1, 2]
    assert {s["attributes"]["agents_hub.outcome"] for s in telemetry.spans()} == {"closed"}
    assert trace.get_current_span() is trace.INVALID_SPAN


async def test_stream_whose_anext_returns_a_plain_awaitable(monitor, telemetry):
    class Ready:
        def __await__(self) -> Any:
            return iter(())  # a legal __await__: an iterator without send()

    class Chunks:
        def __init__(self) -> None:
            self.left = 2

        def __aiter__(self) -> Chunks:
            return self

        def __anext__(self) -> Any:
            self.left -= 1
            if self.left < 0:
                raise StopAsyncIteration
            return Ready()

    @monitor.llm(model="m", stream=True)
    async def call() -> Chunks:
        return Chunks()

    assert [chunk async for chunk in await call()] == [None, None]
    assert telemetry.span("chat m")["attributes"]["agents_hub.stream.items"] == 2
