"""End to end through a real collector: the OTel SDK's OTLP exporters -> rotel -> local receivers.

rotel (PyPI `rotel`) ships its collector binary, `rotel-agent`, inside the wheel. Each test
starts it in the foreground on free 127.0.0.1 ports and stops it by the PID it started.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from receivers import LangfuseReceiver, OTLPHTTPReceiver

rotel = pytest.importorskip("rotel", reason="the `rotel` package (the collector under test) is not installed")

ROTEL_AGENT = Path(rotel.__file__).parent / "rotel-agent"
ROTEL_ENV_FILE = Path(__file__).resolve().parents[1] / "collector-config" / "rotel.env"
RESOURCE = Resource.create({"service.name": "collector-e2e", "deployment.environment.name": "test"})
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Everything here talks to 127.0.0.1: a proxy from the environment must not intercept it.
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """This process's environment without settings that would change rotel's behaviour."""
    drop = ("ROTEL_", "OTEL_", *_PROXY_VARS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "NO_COLOR": "1"}


def _wait_listening(proc: subprocess.Popen[bytes], ports: tuple[int, ...], log: Path) -> None:
    deadline = time.monotonic() + 10
    pending = set(ports)
    while pending:
        if proc.poll() is not None:
            pytest.fail(f"rotel exited with {proc.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"rotel is not listening on {sorted(pending)} after 10 s:\n{log.read_text()}")
        for port in list(pending):
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    pending.discard(port)
        time.sleep(0.02)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: rotel flushes and exits
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Rotel:
    """One foreground rotel-agent process (not --daemon, so its PID is the one we started)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.http_port, self.grpc_port = _free_port(), _free_port()
        self.log = workdir / "rotel.log"
        self.env = {
            **env,
            "ROTEL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.http_port}",
            "ROTEL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.grpc_port}",
            "ROTEL_PID_FILE": str(workdir / "rotel.pid"),  # keep it out of the shared /tmp
            "ROTEL_LOG_FILE": str(workdir / "rotel-agent.log"),
            "ROTEL_BATCH_TIMEOUT": "50ms",  # flush fast: the test waits on it
        }

    def __enter__(self) -> Rotel:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([str(ROTEL_AGENT), "start"], env=self.env, stdout=out, stderr=out)
        try:
            _wait_listening(self.proc, (self.http_port, self.grpc_port), self.log)
        except BaseException:
            _stop(self.proc)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        _stop(self.proc)

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@contextlib.contextmanager
def _explained(collector: Rotel, *receivers: OTLPHTTPReceiver | LangfuseReceiver) -> Iterator[None]:
    """Turn a wait's bare TimeoutError into what the receivers saw and what rotel logged."""
    try:
        yield
    except TimeoutError as exc:
        seen = [(r.method, r.path, r.status) for recv in receivers for r in recv.requests()]
        pytest.fail(f"{exc}\nrequests seen: {seen}\nrotel output:\n{collector.log.read_text()}")


@pytest.fixture
def receiver() -> Iterator[OTLPHTTPReceiver]:
    with OTLPHTTPReceiver() as recv:
        yield recv


@pytest.fixture
def collector(receiver: OTLPHTTPReceiver, tmp_path: Path) -> Iterator[Rotel]:
    """rotel forwarding everything over OTLP/HTTP (gzip, its default) to ``receiver``."""
    env = {
        **_clean_env(),
        "ROTEL_EXPORTER": "otlp",
        "ROTEL_OTLP_EXPORTER_ENDPOINT": receiver.endpoint,
        "ROTEL_OTLP_EXPORTER_PROTOCOL": "http",
        "ROTEL_OTLP_RECEIVER_LOGS_DISABLED": "true",
    }
    with Rotel(env, tmp_path) as running:
        yield running


def _emit_agent_trace(exporter: SpanExporter) -> list[ReadableSpan]:
    """Send one agent turn (agent -> chat -> tool) and return the spans as the SDK made them."""
    sent = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(sent))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agents_hub_monitoring.tests", "0.1.0")
    with tracer.start_as_current_span("invoke_agent demo") as agent:
        agent.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "demo"})
        agent.set_attribute("agents_hub.tags", ["a", "b"])
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12})
            chat.set_attributes({"gen_ai.usage.cost": 0.00042, "gen_ai.request.stream": False})
            with tracer.start_as_current_span("execute_tool search") as tool:
                tool.add_event("retry", {"attempt": 2})
                tool.set_status(Status(StatusCode.ERROR, "tool timed out"))
    provider.shutdown()
    return list(sent.get_finished_spans())


def _as_received(span: ReadableSpan) -> dict[str, Any]:
    """What an intact copy of ``span`` looks like once decoded by the receivers."""
    parent = span.parent
    return {
        "name": span.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_span_id": f"{parent.span_id:016x}" if parent else None,
        "kind": span.kind.name,
        "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items()},
        "status": {"code": span.status.status_code.name, "message": span.status.description or ""},
        "events": [e.name for e in span.events],
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "service.name": "collector-e2e",
    }


def _received(span: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "trace_id", "span_id", "parent_span_id", "kind", "attributes", "status")
    picked = {key: span[key] for key in keys}
    times = {key: span[key] for key in ("start_time_unix_nano", "end_time_unix_nano")}
    events = [e["name"] for e in span["events"]]
    return {**picked, "events": events, **times, "service.name": span["resource"]["service.name"]}


def _by_name(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["name"]: _received(s) for s in spans}


@pytest.mark.parametrize("ingress", ["http", "grpc"])
def test_spans_pass_through_rotel_intact(collector: Rotel, receiver: OTLPHTTPReceiver, ingress: str) -> None:
    if ingress == "http":
        exporter: SpanExporter = OTLPSpanExporter(endpoint=f"{collector.http_endpoint}/v1/traces", timeout=5)
    else:
        exporter = GRPCSpanExporter(endpoint=f"127.0.0.1:{collector.grpc_port}", insecure=True, timeout=5)
    sent = _emit_agent_trace(exporter)

    with _explained(collector, receiver):
        got = _by_name(receiver.wait_for_spans(len(sent), timeout=10))
    assert got == {s.name: _as_received(s) for s in sent}
    # Parentage survives: one trace, agent -> chat -> tool.
    assert len({s["trace_id"] for s in got.values()}) == 1
    assert got["invoke_agent demo"]["parent_span_id"] is None
    assert got["chat gpt-4o"]["parent_span_id"] == got["invoke_agent demo"]["span_id"]
    assert got["execute_tool search"]["parent_span_id"] == got["chat gpt-4o"]["span_id"]
    assert all(r.path == "/v1/traces" and r.headers.get("content-encoding") == "gzip" for r in receiver.requests())


def test_metrics_pass_through_rotel_intact(collector: Rotel, receiver: OTLPHTTPReceiver) -> None:
    exporter = OTLPMetricExporter(endpoint=f"{collector.http_endpoint}/v1/metrics", timeout=5)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("agents_hub_monitoring.tests")
    meter.create_counter("agents_hub.agent.runs").add(3, {"outcome": "success"})
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    tokens.record(12, {"gen_ai.token.type": "input"})
    tokens.record(30, {"gen_ai.token.type": "input"})
    provider.shutdown()  # one final export

    with _explained(collector, receiver):
        metrics = receiver.wait_for_metrics(2, timeout=10)
    by_name = {m["name"]: m for m in metrics}
    runs, usage = by_name["agents_hub.agent.runs"], by_name["gen_ai.client.token.usage"]
    assert runs["type"] == "sum" and runs["is_monotonic"]
    assert [(p["attributes"], p["value"]) for p in runs["points"]] == [({"outcome": "success"}, 3)]
    assert usage["type"] == "histogram" and usage["unit"] == "{token}"
    (point,) = usage["points"]
    assert (point["attributes"], point["count"], point["sum"]) == ({"gen_ai.token.type": "input"}, 2, 42)
    assert runs["resource"]["service.name"] == "collector-e2e"


def _source_env_file(path: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment after `set -a; . file`, exactly as the README tells users to do it."""
    script = 'set -a; . "$1"; set +a; env -0'
    done = subprocess.run(
        ["bash", "-c", script, "bash", str(path)], env=env, capture_output=True, check=True, timeout=10
    )
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    return dict(pairs)


def test_shipped_rotel_env_sends_traces_to_langfuse_and_metrics_elsewhere(
    receiver: OTLPHTTPReceiver, tmp_path: Path
) -> None:
    # 17 bytes of "public:secret" give a base64 token ending in "=": the header must keep it.
    with LangfuseReceiver(public_key="pk-lf-12", secret_key="sk-lf-34") as langfuse:
        token = langfuse.basic_auth.removeprefix("Basic ")
        assert token.endswith("=")
        users_env = {
            **_clean_env(),
            "LANGFUSE_BASE_URL": langfuse.endpoint,
            "LANGFUSE_AUTH": token,
            "METRICS_OTLP_ENDPOINT": receiver.endpoint,
        }
        with Rotel(_source_env_file(ROTEL_ENV_FILE, users_env), tmp_path) as collector:
            sent = _emit_agent_trace(OTLPSpanExporter(endpoint=f"{collector.http_endpoint}/v1/traces"))
            exporter = OTLPMetricExporter(endpoint=f"{collector.http_endpoint}/v1/metrics")
            provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(exporter, 60_000)])
            provider.get_meter("t").create_counter("agents_hub.agent.runs").add(1)
            provider.shutdown()

            with _explained(collector, langfuse, receiver):
                langfuse.wait_for_observations(len(sent), timeout=10)
                receiver.wait_for_metrics(1, timeout=10)

        assert _by_name(langfuse.spans()) == {s.name: _as_received(s) for s in sent}
        posts = langfuse.requests()
        assert posts and all(r.path == "/api/public/otel/v1/traces" and r.status == 200 for r in posts)
        assert {r.headers["x-langfuse-ingestion-version"] for r in posts} == {"4"}
    # Metrics never reach Langfuse (it would discard them); spans never reach the metrics backend.
    assert [m["name"] for m in receiver.metrics()] == ["agents_hub.agent.runs"]
    assert receiver.spans() == [] and {r.path for r in receiver.requests()} == {"/v1/metrics"}
