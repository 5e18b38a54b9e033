"""Two ways to a custom monitor: override the track_* hooks, or plug in any OTel exporter.

Run: python examples/custom_monitor.py
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agents_hub_monitoring import BaseMonitor


class CustomMonitor(BaseMonitor):
    """The seed README's custom monitor: hooks overridden to send events to your own system."""

    def __init__(self, api_key: str, endpoint: str) -> None:
        super().__init__(name="custom_monitor")
        self.api_key = api_key
        self.endpoint = endpoint
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def track_llm_call(self, **kwargs: Any) -> None:
        await self._send_data("llm_call", kwargs)

    async def track_agent_run(self, **kwargs: Any) -> None:
        await self._send_data("agent_run", kwargs)

    async def _send_data(self, event_type: str, data: dict[str, Any]) -> None:
        self.sent.append((event_type, data))  # a real monitor would POST to self.endpoint


class JsonLinesExporter(SpanExporter):
    """Any OTel SpanExporter works: this one prints one JSON line per span."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            print(json.dumps({"name": span.name, "attributes": dict(span.attributes or {})}, default=str))
        return SpanExportResult.SUCCESS


async def main() -> None:
    custom = CustomMonitor(api_key="not-a-real-key", endpoint="https://monitoring.example.com")
    await custom.track_llm_call(provider="openai", model="gpt-4o-mini", messages=[])
    await custom.track_agent_run(agent_name="assistant", output="hi")
    print("custom monitor sent:", [event for event, _ in custom.sent])
    custom.shutdown()

    with BaseMonitor(exporters=[JsonLinesExporter()], batch=False) as monitor:
        with monitor.agent_run("assistant"), monitor.tool_call("search", arguments={"q": "otel"}) as tool:
            tool.set_result(["opentelemetry.io"])


if __name__ == "__main__":
    asyncio.run(main())
