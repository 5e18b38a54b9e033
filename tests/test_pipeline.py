"""The SDK pipeline: own providers, isolation from a host application's OTel, resource, sampling."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from agents_hub_monitoring.testing import capture


def _run_isolated(code: str) -> str:
    # Global providers can be set once per process: check them in a fresh interpreter.
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_host_application_with_its_own_otel_keeps_its_spans_and_never_gets_ours():
    output = _run_isolated("""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from agents_hub_monitoring.testing import capture

        host_exporter = InMemorySpanExporter()
        host_provider = TracerProvider()
        host_provider.add_span_processor(SimpleSpanProcessor(host_exporter))
        trace.set_tracer_provider(host_provider)
        host_tracer = trace.get_tracer("host-app")

        with capture() as (monitor, telemetry):
            with host_tracer.start_as_current_span("host request"):
                with monitor.agent_run("agent"):
                    with host_tracer.start_as_current_span("host db query"):
                        pass
            ours = telemetry.span_names()
            assert trace.get_tracer_provider() is host_provider, "our monitor replaced the global provider"
        host = [s.name for s in host_exporter.get_finished_spans()]
        agent = telemetry.span("invoke_agent agent")
        request = [s for s in host_exporter.get_finished_spans() if s.name == "host request"][0]
        # one trace across both pipelines, each exporter only sees its own spans
        assert int(agent["trace_id"], 16) == request.context.trace_id
        print(ours, host)
    """)
    assert output == "['invoke_agent agent'] ['host db query', 'host request']"


def test_set_global_installs_our_providers():
    output = _run_isolated("""
        from opentelemetry import metrics, trace
        from agents_hub_monitoring.testing import capture

        with capture(set_global=True) as (monitor, telemetry):
            assert trace.get_tracer_provider() is monitor.tracer_provider
            assert metrics.get_meter_provider() is monitor.meter_provider
            with trace.get_tracer("third-party").start_as_current_span("library span"):
                pass
            print(telemetry.span_names())
    """)
    assert output == "['library span']"


def test_resource_attributes_and_env(monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=agents,service.namespace=hub")
    with capture(service_name="svc", release="2.0", environment="prod",
                 resource_attributes={"host.name": "box"}) as (monitor, telemetry):
        monitor.track_event("e")
        resource = telemetry.span("e")["resource"]
    assert resource["service.name"] == "svc" and resource["service.version"] == "2.0"
    assert resource["deployment.environment.name"] == "prod" and resource["host.name"] == "box"
    assert resource["team"] == "agents" and resource["service.namespace"] == "hub"
    assert resource["telemetry.distro.name"] == "agents_hub_monitoring"


def test_sample_rate_zero_drops_spans_but_keeps_metrics():
    with capture(sample_rate=0.0) as (monitor, telemetry):
        with monitor.llm_call("gpt-4o") as call:
            call.set_usage(input_tokens=10, output_tokens=2)
        assert telemetry.spans() == []
        (duration,) = telemetry.metric_points("gen_ai.client.operation.duration")
        assert duration["count"] == 1


def test_two_monitors_are_independent():
    with capture(service_name="one") as (first, first_spans), capture(service_name="two") as (second, second_spans):
        first.track_event("a")
        second.track_event("b")
        assert first_spans.span_names() == ["a"] and second_spans.span_names() == ["b"]


def test_batched_exporter_receives_spans_on_flush():
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    batched = InMemorySpanExporter()  # no agents_hub_synchronous flag: goes through the batch processor
    with capture(exporters=[batched]) as (monitor, _):
        monitor.track_event("later")
        monitor.flush()
        assert [s.name for s in batched.get_finished_spans()] == ["later"]


def test_service_name_from_otel_resource_attributes_is_kept(monkeypatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource-attributes")
    with capture() as (monitor, telemetry):
        monitor.track_event("e")
        assert telemetry.span("e")["resource"]["service.name"] == "from-resource-attributes"
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES")
    with capture() as (monitor, telemetry):
        monitor.track_event("e")
        assert telemetry.span("e")["resource"]["service.name"] == "agents-hub-agent"


def test_shutdown_is_bounded_in_total_when_span_and_metric_exports_both_hang():
    import threading
    import time

    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    from agents_hub_monitoring.testing import RecordingSpanExporter

    release = threading.Event()

    class HangingSpans(RecordingSpanExporter):
        def shutdown(self) -> None:
            release.wait(30)

    class HangingMetrics(MetricExporter):
        def export(self, metrics_data, timeout_millis=10_000, **kwargs):
            release.wait(30)
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis=10_000):
            return True

        def shutdown(self, timeout_millis=30_000, **kwargs):
            release.wait(30)

    with capture(exporters=[HangingSpans()], metric_exporters=[HangingMetrics()],
                 shutdown_timeout_s=3.0) as (monitor, _):
        monitor.track_event("e")
        started = time.monotonic()
        monitor.shutdown()
        elapsed = time.monotonic() - started
    release.set()
    # One shared deadline of 3 s: one deadline per provider would take at least 6 s, and the
    # exporters themselves would hang for 30 s.
    assert elapsed < 5.5


def test_spans_are_flushed_at_interpreter_exit_without_noise():
    from receivers import OTLPHTTPReceiver

    with OTLPHTTPReceiver() as receiver:
        code = f"""
from agents_hub_monitoring import OTLPMonitor
monitor = OTLPMonitor(endpoint={receiver.endpoint!r}, export_metrics=True)
monitor.track_event("before exit")   # no flush(), no shutdown(): the exit hook must do it
"""
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stderr
        (span,) = receiver.wait_for_spans(1)
    assert span["name"] == "before exit"
    assert result.stderr == ""  # e.g. no "shutdown can only be called once" from a second exit hook


def test_exemplar_filter_is_off_unless_the_environment_sets_one(monkeypatch):
    # Measurements are replayed where no span is current: the trace-based filter would only cost.
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, AlwaysOnExemplarFilter

    with capture() as (monitor, _):
        assert isinstance(monitor.meter_provider._sdk_config.exemplar_filter, AlwaysOffExemplarFilter)
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_on")
    with capture() as (monitor, _):
        assert isinstance(monitor.meter_provider._sdk_config.exemplar_filter, AlwaysOnExemplarFilter)
