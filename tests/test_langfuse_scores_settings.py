"""LangfuseMonitor scores, sampling, settings, secrets and the quickstart, against the local receiver."""

from __future__ import annotations

import asyncio
import json
import logging
import runpy
from pathlib import Path

import pytest
from langfuse_support import PUBLIC, SECRET, TRACES
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from agents_hub_monitoring import BaseMonitor
from agents_hub_monitoring.langfuse_settings import LangfuseSettings
from agents_hub_monitoring.monitors.composite import combine
from agents_hub_monitoring.monitors.langfuse import LangfuseMonitor
from agents_hub_monitoring.testing import RecordingSpanExporter

pytestmark = pytest.mark.usefixtures("clean_langfuse_env")


def test_score_targets_trace_span_and_session(make_monitor, receiver):
    monitor = make_monitor()
    with monitor.agent_run("scored") as run, monitor.tool_call("calc") as tool:
        monitor.score_current_trace("correct", True)
        monitor.score_current_span("latency_ok", 1, data_type="BOOLEAN", comment="fast")
    monitor.score("label", "good", session_id="s-7", metadata={"reviewer": "ann"})
    monitor.score("quality", 0.5, trace_id=run.trace_id, observation_id=tool.span_id)
    assert monitor.flush()
    scores = {s["name"]: s for s in receiver.scores().values()}
    assert scores["correct"]["traceId"] == run.trace_id and "observationId" not in scores["correct"]
    assert scores["correct"]["dataType"] == "BOOLEAN" and scores["correct"]["value"] == 1
    assert (scores["latency_ok"]["traceId"], scores["latency_ok"]["observationId"]) == (run.trace_id, tool.span_id)
    assert scores["label"] == {**scores["label"], "value": "good", "dataType": "CATEGORICAL", "sessionId": "s-7",
                               "metadata": {"reviewer": "ann"}}
    assert scores["quality"]["observationId"] == tool.span_id


@pytest.mark.parametrize("call, message", [
    (lambda m: m.score("x", 1), "exactly one target"),
    (lambda m: m.score("x", 1, trace_id="a" * 32, session_id="s"), "exactly one target"),
    (lambda m: m.score("x", 1, session_id="s", observation_id="b" * 16), "observation_id requires trace_id"),
    (lambda m: m.score("x", 2, data_type="BOOLEAN", session_id="s"), "BOOLEAN"),
    (lambda m: m.score("x", 1.0, data_type="CATEGORICAL", session_id="s"), "CATEGORICAL"),
    (lambda m: m.score_current_trace("x", 1), "inside a span"),
    (lambda m: m.add_user_feedback("c1", 7), "1-5"),
])
def test_invalid_scores_raise_at_the_call(make_monitor, receiver, call, message):
    monitor = make_monitor()
    with pytest.raises(ValueError, match=message):
        call(monitor)
    monitor.flush()
    assert not receiver.requests("/api/public/scores")


def test_feedback_is_also_the_satisfaction_metric(make_monitor):
    reader = InMemoryMetricReader()
    monitor = make_monitor(metric_readers=[reader])
    monitor.add_user_feedback("c1", 4)
    names = {m.name for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
             for m in sm.metrics}
    assert "agents_hub.user.satisfaction" in names


def test_sample_rate_zero_sends_no_spans_but_scores_still_go(make_monitor, receiver):
    monitor = make_monitor(sample_rate=0.0)
    with monitor.agent_run("unsampled", context={"conversation_id": "c0"}):
        pass
    monitor.score_conversation("c0", "quality", 1.0)
    assert monitor.flush()
    assert receiver.requests(TRACES) == [] and len(receiver.scores()) == 1


def test_scores_for_sampled_out_traces_are_not_sent(make_monitor, receiver, caplog):
    caplog.set_level(logging.DEBUG, logger="agents_hub_monitoring")
    monitor = make_monitor(sample_rate=0.0)
    with monitor.agent_run("unsampled", context={"conversation_id": "c0"}) as run, monitor.tool_call("t"):
        assert monitor.score_current_trace("a", 1) is None
        assert monitor.score_current_span("b", 1) is None
    assert monitor.score("c", 1, trace_id=run.trace_id) is None
    assert monitor.score("d", 1, session_id="c0") is not None  # session scores still go
    monitor.score_conversation("c0", "quality", 1.0)
    assert monitor.flush()
    assert {s["name"] for s in receiver.scores().values()} == {"d", "quality"}
    skipped = [r for r in caplog.records if "sampled out" in r.getMessage()]
    assert len(skipped) == 3 and all(r.levelno == logging.DEBUG for r in skipped)


def test_with_partial_sampling_exactly_the_exported_traces_get_their_scores(make_monitor, receiver):
    monitor = make_monitor(sample_rate=0.5, batch=False)
    for index in range(40):
        with monitor.agent_run(f"run{index}") as run:
            pass
        monitor.score("quality", 1.0, trace_id=run.trace_id)  # after the run: the trace id decides
    assert monitor.flush()
    exported = {o["trace_id"] for o in receiver.observations()}
    assert 0 < len(exported) < 40  # 2**-39 odds of all or none at 0.5
    assert {s["traceId"] for s in receiver.scores().values()} == exported


async def test_conversation_scores_and_feedback_return_the_langfuse_score_id(make_monitor, receiver):
    monitor = make_monitor()
    score = monitor.score_conversation("c1", "helpfulness", 0.9)
    feedback_id = await monitor.add_user_feedback("c1", 4)
    assert monitor.flush()
    assert set(receiver.scores()) == {score.id, feedback_id}


def test_a_combined_monitor_returns_the_langfuse_score_id(make_monitor, receiver):
    local = RecordingSpanExporter()
    both = combine(BaseMonitor(exporters=[local]), make_monitor())
    tracked = both.score_conversation("c1", "quality", 1.0)
    assert both.flush()
    assert list(receiver.scores()) == [tracked.id]
    assert [span.name for span in local.get_finished_spans()] == ["evaluation quality"]
    both.shutdown()


@pytest.mark.parametrize("value", ["has spaces", "langfuse-prod", "x" * 41, "Prod/EU"])
def test_an_invalid_environment_variable_falls_back_to_default(monkeypatch, receiver, caplog, value):
    monkeypatch.setenv("LANGFUSE_TRACING_ENVIRONMENT", value)
    monitor = LangfuseMonitor(PUBLIC, SECRET, host=receiver.endpoint, batch=False)  # must not raise
    try:
        with monitor.agent_run("env", context={"conversation_id": "c1"}):
            pass
        monitor.score_conversation("c1", "quality", 1.0)
        assert monitor.flush()
    finally:
        monitor.shutdown()
    assert monitor.settings.environment == "default"
    assert receiver.observation("invoke_agent env")["environment"] == "default"
    assert [s["environment"] for s in receiver.scores().values()] == ["default"]
    (line,) = [r.getMessage() for r in caplog.records if "LANGFUSE_TRACING_ENVIRONMENT" in r.getMessage()]
    assert "using 'default'" in line


def test_settings_from_environment(monkeypatch, receiver):
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SECRET)
    monkeypatch.setenv("LANGFUSE_BASE_URL", receiver.endpoint)
    monkeypatch.setenv("LANGFUSE_HOST", "http://127.0.0.1:9")  # deprecated: BASE_URL wins
    monkeypatch.setenv("LANGFUSE_RELEASE", "2.0.0")
    monkeypatch.setenv("LANGFUSE_TRACING_ENVIRONMENT", "Production")
    monkeypatch.setenv("LANGFUSE_SAMPLE_RATE", "1.0")
    monitor = LangfuseMonitor(batch=False)
    try:
        assert monitor.settings.sample_rate == 1.0
        with monitor.agent_run("from-env"):
            pass
    finally:
        monitor.shutdown()
    (observation,) = receiver.observations()
    assert (observation["release"], observation["environment"]) == ("2.0.0", "production")
    monkeypatch.delenv("LANGFUSE_BASE_URL")
    assert LangfuseSettings.resolve().host == "http://127.0.0.1:9"  # LANGFUSE_HOST still works alone


def test_missing_keys_name_the_variables():
    with pytest.raises(ValueError, match="LANGFUSE_PUBLIC_KEY") as raised:
        LangfuseMonitor(host="http://127.0.0.1:9")
    assert "LANGFUSE_SECRET_KEY" in str(raised.value)
    with pytest.raises(ValueError, match=r"not set: LANGFUSE_SECRET_KEY\)"):
        LangfuseMonitor(public_key=PUBLIC, host="http://127.0.0.1:9")


@pytest.mark.parametrize("kwargs, message", [
    ({"environment": "langfuse-prod"}, "environment"),
    ({"environment": "has spaces"}, "environment"),
    ({"sample_rate": 1.5}, "between 0 and 1"),
    ({"host": "cloud.langfuse.com"}, "http"),
])
def test_invalid_settings_are_clear_errors(kwargs, message):
    kwargs.setdefault("host", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match=message):
        LangfuseMonitor(PUBLIC, SECRET, **kwargs)


def test_keys_never_appear_in_reprs_or_spans(make_monitor, receiver):
    monitor = make_monitor(batch=False)
    with monitor.agent_run("private", context={"conversation_id": "c1"}):
        pass
    for text in (repr(monitor), repr(monitor.settings), repr(monitor.span_exporter), repr(monitor.scores),
                 json.dumps(receiver.spans(), default=str)):
        assert SECRET not in text and PUBLIC not in text
    assert "sk-lf-...5555" in repr(monitor.settings)


def test_quickstart_example_runs(monkeypatch, receiver, capsys):
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SECRET)
    monkeypatch.setenv("LANGFUSE_BASE_URL", receiver.endpoint)
    example = runpy.run_path(str(Path(__file__).parents[1] / "examples" / "langfuse_quickstart.py"))
    assert asyncio.run(example["main"]()) == 0
    traces = {t["name"]: t for t in receiver.traces()}
    assert traces["monitored_agent"]["session_id"] == "user123"
    assert {s["name"] for s in receiver.scores().values()} == {"helpfulness", "user_feedback"}
    assert "Sent to Langfuse." in capsys.readouterr().out
