"""ConsoleMonitor and its exporter: exact trees, log levels, the summary, rich output, bounded buffers."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from agents_hub_monitoring.exporters.console import ConsoleSpanExporter, parse_log_level
from agents_hub_monitoring.exporters.summary import SummaryCollector, nearest_rank
from agents_hub_monitoring.monitors.console import ConsoleMonitor

MS = 1_000_000


@pytest.fixture
def make_monitor() -> Iterator[Callable[..., tuple[ConsoleMonitor, io.StringIO]]]:
    monitors: list[ConsoleMonitor] = []

    def make(log_level: str = "INFO", **kwargs: Any) -> tuple[ConsoleMonitor, io.StringIO]:
        stream = kwargs.pop("stream", None) or io.StringIO()
        kwargs.setdefault("use_rich", False)
        kwargs.setdefault("include_timestamps", False)
        kwargs.setdefault("show_summary_at_shutdown", False)
        monitor = ConsoleMonitor(log_level, stream=stream, **kwargs)
        monitors.append(monitor)
        return monitor, stream

    yield make
    for monitor in monitors:
        monitor.shutdown()


def finish(handle: Any, ms: int) -> None:
    """End a span exactly ``ms`` after it started, so its printed duration is known."""
    handle.end(end_time=handle.span.start_time + ms * MS)


def small_run(monitor: ConsoleMonitor) -> Any:
    """agent -> llm with tokens and cost -> a failing tool; returns the agent's handle."""
    with monitor.agent_run("planner", context={"conversation_id": "c1"}) as run:
        with monitor.llm_call("gpt-4o", provider="openai") as call:
            call.set_usage(input_tokens=120, output_tokens=30)
            call.set_cost(0.0042)
            finish(call, 800)
        with monitor.tool_call("search", arguments={"q": "paris"}) as tool:
            tool.record_error(ValueError("boom"))
            finish(tool, 200)
        finish(run, 1500)
    return run


TREE = [
    "invoke_agent planner  1.500s  ok",
    "|-- chat gpt-4o  0.800s  tokens 120 in / 30 out  cost $0.004200  ok",
    "`-- execute_tool search  0.200s  ERROR ValueError: boom",
]


def test_plain_tree_of_a_small_agent_run(make_monitor):
    monitor, stream = make_monitor()
    small_run(monitor)
    assert stream.getvalue() == "\n".join(TREE) + "\n"


def test_timestamps_prefix_the_root_with_its_start_time_in_utc(make_monitor):
    monitor, stream = make_monitor(include_timestamps=True)
    run = small_run(monitor)
    start = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=run.span.start_time // 1000)
    stamp = start.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert stream.getvalue().splitlines() == [f"{stamp} {TREE[0]}", *TREE[1:]]


def four_traces(monitor: ConsoleMonitor) -> None:
    with monitor.agent_run("calm"):
        pass
    with monitor.agent_run("flagged"):
        with monitor.moderation_check("filter") as check:
            check.set_result(True, category="violence", action="block")
    with monitor.agent_run("recovered"):
        with monitor.tool_call("flaky") as tool:
            tool.record_error("timed out")
    with pytest.raises(RuntimeError), monitor.agent_run("crashed"):
        raise RuntimeError("no way")


@pytest.mark.parametrize(("level", "shown"), [
    ("DEBUG", {"calm", "flagged", "recovered", "crashed"}),
    ("INFO", {"calm", "flagged", "recovered", "crashed"}),
    ("warning", {"flagged", "recovered", "crashed"}),
    (logging.ERROR, {"crashed"}),
])
def test_log_level_filters_traces_but_the_summary_sees_all(make_monitor, level, shown):
    monitor, stream = make_monitor(level)
    four_traces(monitor)
    roots = {line.split()[1] for line in stream.getvalue().splitlines() if line.startswith("invoke_agent")}
    assert roots == shown
    attribute_lines = "agents_hub.outcome = success" in stream.getvalue()
    assert attribute_lines == (level == "DEBUG")
    assert monitor.summary_collector.traces == 4 and monitor.summary_collector.failed_traces == 1


def test_lines_of_each_operation_kind(make_monitor):
    monitor, stream = make_monitor("WARNING")
    with monitor.agent_run("bot"):
        with monitor.moderation_check("filter") as check:
            check.set_result(True, category="violence", action="block")
            finish(check, 3)
        with monitor.memory_operation("search_memory", store="redis") as memory:
            memory.set_result(["a", "b"])
            finish(memory, 4)
        monitor.track_event("clicked", {"x": 1})
    lines = stream.getvalue().splitlines()
    assert lines[1:] == ["|-- apply_guardrail filter  0.003s  FLAGGED violence -> block  ok",
                         "|-- search_memory  0.004s  store redis  results 2  ok",
                         "`-- event clicked  ok"]


@pytest.mark.parametrize("bad", ["VERBOSE", "", 15, True, None, 3.0])
def test_invalid_log_level_is_rejected(bad):
    with pytest.raises(ValueError, match="log_level"):
        ConsoleMonitor(bad)


def test_log_level_spellings():
    assert parse_log_level("debug") == logging.DEBUG and parse_log_level(" Warn ") == logging.WARNING
    assert parse_log_level(logging.INFO) == logging.INFO


def test_summary_numbers(make_monitor):
    monitor, _ = make_monitor()
    for tenth in range(1, 11):
        monitor.track_agent_run("planner", duration_s=tenth / 10, success=tenth != 10)
    for latency in (100, 200, 300, 400):
        monitor.track_llm_call(provider="openai", model="gpt-4o", input_tokens=100, output_tokens=20,
                               cost=0.01, latency_ms=latency)
    with monitor.agent_run("writer") as run:
        with monitor.llm_call("small-model") as call:
            call.set_usage(input_tokens=50, output_tokens=10)
            call.set_cost(0.002)
            finish(call, 100)
        finish(run, 300)
    monitor.track_tool_usage("search", {"q": 1}, output_data="hit")
    monitor.track_tool_usage("search", {"q": 2}, output_data="hit")
    monitor.track_tool_usage("search", {"q": 3}, error="quota exceeded")
    monitor.track_moderation_event("violence", "block")
    monitor.track_moderation_event("violence", "block")
    monitor.track_moderation_event(flagged=False)
    monitor.add_user_feedback("c1", 4)
    monitor.add_user_feedback("c1", 5, "great")
    monitor.score_conversation("c1", "relevance", 0.8)

    assert monitor.summary() == """\
== Summary ==
traces 24 (failed 2)  spans 25  tokens 450 in / 90 out  cost $0.042000  events 0

== Agents ==
agent    runs  success     p50     p95  tokens in  tokens out       cost
-------  ----  -------  ------  ------  ---------  ----------  ---------
planner    10    90.0%  0.500s  1.000s          0           0          -
writer      1   100.0%  0.300s  0.300s         50          10  $0.002000

== Models ==
model        calls  success     p50     p95  tokens in  tokens out       cost
-----------  -----  -------  ------  ------  ---------  ----------  ---------
gpt-4o           4   100.0%  0.200s  0.400s        400          80  $0.040000
small-model      1   100.0%  0.100s  0.100s         50          10  $0.002000

== Tools ==
tool    calls  failures     p50     p95
------  -----  --------  ------  ------
search      3         1  0.000s  0.000s

== Moderation ==
checks 3  flagged 2
category  action  flagged
--------  ------  -------
violence  block         2

== Feedback and scores ==
mean feedback score 4.50 (2 ratings)
name           kind      count  mean
-------------  --------  -----  ----
user_feedback  feedback      2  4.50
relevance      score         1  0.80
"""


def test_summary_is_printed_at_shutdown_with_unfinished_traces_first(make_monitor):
    monitor, stream = make_monitor(show_summary_at_shutdown=True)
    scope = monitor.agent_run("stuck")
    scope.__enter__()
    try:
        with monitor.tool_call("lookup") as tool:
            finish(tool, 5)
        assert stream.getvalue() == ""
        monitor.shutdown()
    finally:
        scope.__exit__(None, None, None)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("(incomplete trace ") and lines[0].endswith(": root span not finished)")
    assert lines[1] == "`-- execute_tool lookup  0.005s  ok"
    assert lines[2:4] == ["== Summary ==", "traces 0 (failed 0)  spans 1  tokens 0 in / 0 out  cost -  events 0"]
    assert "lookup      1         0  0.005s  0.005s" in lines


def test_no_summary_at_shutdown_when_disabled_or_empty(make_monitor):
    monitor, stream = make_monitor(show_summary_at_shutdown=True)
    monitor.shutdown()
    quiet, quiet_stream = make_monitor(show_summary_at_shutdown=False)
    quiet.track_agent_run("a", duration_s=0.1)
    quiet.shutdown()
    assert stream.getvalue() == "" and "Summary" not in quiet_stream.getvalue()


def test_rich_output_renders_tree_and_tables(make_monitor):
    monitor, stream = make_monitor(use_rich=True)
    small_run(monitor)
    monitor.print_summary()
    text = stream.getvalue()
    for expected in ("invoke_agent planner", "chat gpt-4o", "tokens 120 in / 30 out", "$0.004200",
                     "ERROR ValueError: boom", "└── ", "Agents", "planner", "Tools", "search"):
        assert expected in text


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_is_chosen_automatically_only_for_terminals(make_monitor):
    plain, plain_stream = make_monitor(use_rich=None)
    fancy, fancy_stream = make_monitor(use_rich=None, stream=FakeTerminal())
    small_run(plain)
    small_run(fancy)
    assert plain_stream.getvalue() == "\n".join(TREE) + "\n"
    assert "└── " in fancy_stream.getvalue() and "invoke_agent planner" in fancy_stream.getvalue()


def test_debug_output_shows_scrubbed_attributes_only(make_monitor):
    monitor, stream = make_monitor("DEBUG")
    with monitor.agent_run("bot", input="my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"):
        pass
    text = stream.getvalue()
    assert "gen_ai.agent.name = bot" in text and "[REDACTED" in text
    assert "abcdefghijklmnopqrstuvwxyz0123456789" not in text


def test_spans_under_a_host_span_print_when_our_root_ends(make_monitor):
    monitor, stream = make_monitor()
    host = TracerProvider().get_tracer("host")
    with host.start_as_current_span("host request"):
        with monitor.agent_run("inner") as run:
            finish(run, 7)
        assert stream.getvalue() == "invoke_agent inner  0.007s  ok\n"
    assert monitor.console_exporter.pending_traces == 0


# -- the exporter alone, with hand-made spans ------------------------------------------------------------
def span(name: str, trace_id: int, span_id: int, parent_id: int | None = None, *, ms: int = 1,
         attributes: dict[str, Any] | None = None, error: str | None = None) -> ReadableSpan:
    context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))
    parent = SpanContext(trace_id, parent_id, is_remote=False, trace_flags=TraceFlags(1)) if parent_id else None
    status = Status(StatusCode.ERROR, error) if error else Status(StatusCode.UNSET)
    return ReadableSpan(name=name, context=context, parent=parent, attributes=attributes or {},
                        start_time=10**18, end_time=10**18 + ms * MS, status=status)


def exporter(summary: SummaryCollector | None = None,
             **kwargs: Any) -> tuple[ConsoleSpanExporter, io.StringIO, SummaryCollector]:
    stream, summary = io.StringIO(), summary or SummaryCollector()
    return (ConsoleSpanExporter(stream=stream, use_rich=False, include_timestamps=False, summary=summary,
                                **kwargs), stream, summary)


def test_pending_traces_are_bounded_and_the_oldest_is_printed():
    console, stream, summary = exporter(max_pending_traces=2)
    for trace_id in (1, 2, 3):
        console.export([span(f"step {trace_id}", trace_id, 100 + trace_id, parent_id=50)])
    assert console.pending_traces == 2
    assert stream.getvalue().splitlines() == [
        f"(incomplete trace {1:032x}: evicted, too many traces in progress)", "`-- step 1  0.001s  ok"]
    for trace_id in range(10, 2000):
        console.export([span("step", trace_id, trace_id, parent_id=5)])
        assert console.pending_traces <= 2
    assert summary.spans == 3 + 1990 - 2 and summary.traces == 0  # all but the two still pending


def test_spans_per_trace_are_bounded_and_printed_in_parts():
    console, stream, summary = exporter(max_spans_per_trace=3)
    children = [span(f"child {n}", 7, 10 + n, parent_id=1) for n in range(4)]
    console.export(children)
    assert console.pending_spans == 1
    assert stream.getvalue().splitlines()[0].endswith("more than 3 spans, printed in parts)")
    console.export([span("root", 7, 1)])
    assert stream.getvalue().splitlines()[-2:] == ["root  0.001s  ok", "`-- child 3  0.001s  ok"]
    assert console.pending_traces == 0 and summary.spans == 5 and summary.traces == 1


def test_odd_attribute_values_and_a_broken_stream_never_raise(caplog):
    console, stream, _ = exporter()
    weird = {"gen_ai.operation.name": 5, "gen_ai.usage.input_tokens": "lots", "gen_ai.usage.cost": float("nan"),
             "gen_ai.agent.name": "a\nb\x1b[31m", "agents_hub.moderation.flagged": "yes",
             "gen_ai.evaluation.score.value": float("inf"), "error.type": "x" * 5000}
    console.export([span("evil\nname\x1b[2J", 9, 1, attributes=weird, error="bad\r\nthing")])
    (line,) = stream.getvalue().splitlines()
    assert line == f"5 evil name [2J  0.001s  ERROR {'x' * 77}...: bad thing"  # one line, no escape codes

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("stream closed")

    broken = ConsoleSpanExporter(stream=Broken(), use_rich=False)
    assert broken.export([span("root", 3, 1)]).name == "SUCCESS"
    broken.print_summary()
    assert "console output" in caplog.text


def test_nearest_rank_and_bounded_reservoir_and_keys():
    values = list(range(1, 101))
    assert nearest_rank(values, 0.5) == 50 and nearest_rank(values, 0.95) == 95 and nearest_rank([], 0.5) is None
    console, _, summary = exporter(SummaryCollector(reservoir_size=4, max_keys=2))
    for n in range(1, 11):
        tool = "a" if n <= 6 else ("b" if n <= 8 else "c")
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
        console.export([span("t", 100 + n, n, ms=n * 10, attributes=attributes)])
    assert list(summary.tools) == ["a", "b", "(other)"]
    assert summary.tools["a"].calls == 6 and list(summary.tools["a"].durations) == [0.03, 0.04, 0.05, 0.06]
    assert summary.tools["(other)"].calls == 2
    assert summary.render().splitlines()[-3:] == ["a            6         0  0.040s  0.060s",
                                                  "b            2         0  0.070s  0.080s",
                                                  "(other)      2         0  0.090s  0.100s"]
