"""One monitor, several exporters; and several monitors combined into one facade.

Run: python examples/composition.py            (console only)
     OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 python examples/composition.py   (+ a collector)
"""

from __future__ import annotations

import os

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agents_hub_monitoring import BaseMonitor, ConsoleMonitor, OTLPMonitor, combine


def main() -> None:
    # 1. One monitor feeding several exporters: the console and an in-memory copy.
    kept = InMemorySpanExporter()
    with ConsoleMonitor(exporters=[kept], show_summary_at_shutdown=False) as monitor:
        with monitor.agent_run("writer") as run:
            run.set_output("draft ready")
        monitor.flush()
        print("also exported to memory:", [span.name for span in kept.get_finished_spans()])

    # 2. Monitors combined: each span is created once and handed to every monitor's pipeline.
    monitors: list[BaseMonitor] = [ConsoleMonitor(show_summary_at_shutdown=False)]
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        monitors.append(OTLPMonitor())
    with combine(*monitors) as both:
        with both.agent_run("reviewer", context={"conversation_id": "doc-7"}):
            with both.llm_call("gpt-4o-mini", provider="openai") as call:
                call.set_usage(input_tokens=420, output_tokens=80)


if __name__ == "__main__":
    main()
