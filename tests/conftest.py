from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agents_hub_monitoring._safety import internal_logger
from agents_hub_monitoring.testing import CapturedTelemetry, capture

# Fixtures shared by a family of test modules: the Langfuse receiver and monitors, the fake LLM server.
pytest_plugins = ["langfuse_support", "sdk_support"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # Each test sees its own first internal-failure log line.
    internal_logger.reset()
    yield
    internal_logger.reset()


@pytest.fixture
def captured() -> Iterator[tuple[Any, CapturedTelemetry]]:
    with capture(service_name="tests", release="1.2.3", environment="test") as pair:
        yield pair


@pytest.fixture
def monitor(captured: tuple[Any, CapturedTelemetry]) -> Any:
    return captured[0]


@pytest.fixture
def telemetry(captured: tuple[Any, CapturedTelemetry]) -> CapturedTelemetry:
    return captured[1]
