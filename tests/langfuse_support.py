"""Keys, paths and fixtures the Langfuse test modules share (registered as a plugin in ``conftest.py``).

``receiver`` is a local Langfuse receiver that accepts ``PUBLIC``/``SECRET``; ``make_monitor(**kwargs)``
builds ``LangfuseMonitor``s pointed at it and shuts them all down after the test. A test module opts
into a clean Langfuse environment with ``pytestmark = pytest.mark.usefixtures("clean_langfuse_env")``.
Test modules that define their own ``receiver`` or ``make_monitor`` (OTLP, console) override these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from receivers import LangfuseReceiver

from agents_hub_monitoring.monitors.langfuse import LangfuseMonitor

__all__ = ["PUBLIC", "SCORES", "SECRET", "TRACES", "WRONG_SECRET", "clean_langfuse_env", "make_monitor", "receiver"]

TRACES = "/api/public/otel/v1/traces"
SCORES = "/api/public/scores"
SECRET = "sk-lf-5ecret-0000-1111-2222-333344445555"
PUBLIC = "pk-lf-pub11c-0000-1111-2222-333344445555"
WRONG_SECRET = "sk-lf-wr0ng0-9999-8888-7777-666655554444"

# Settings the monitor and doctor read from the environment: a developer's own Langfuse or collector
# setup must not leak into the tests.
_ENVIRONMENT = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL", "LANGFUSE_HOST",
                "LANGFUSE_RELEASE", "LANGFUSE_TRACING_ENVIRONMENT", "LANGFUSE_SAMPLE_RATE",
                "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS")


@pytest.fixture
def clean_langfuse_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver() -> Iterator[LangfuseReceiver]:
    # The project name is what `doctor` reports for accepted keys.
    with LangfuseReceiver(PUBLIC, SECRET, project_name="shop") as running:
        yield running


@pytest.fixture
def make_monitor(receiver: LangfuseReceiver) -> Iterator[Callable[..., LangfuseMonitor]]:
    monitors: list[LangfuseMonitor] = []

    def make(secret: str = SECRET, **kwargs: Any) -> LangfuseMonitor:
        kwargs.setdefault("host", receiver.endpoint)
        monitor = LangfuseMonitor(PUBLIC, secret, **kwargs)
        monitors.append(monitor)
        return monitor

    yield make
    for monitor in monitors:
        monitor.shutdown()
