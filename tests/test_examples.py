"""The demo and the examples run as a user would run them, and print what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("LANGFUSE_", "OTEL_EXPORTER_OTLP"))}
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**clean, **(env or {})}, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_demo_prints_trees_and_summary():
    output = _run("-m", "agents_hub_monitoring.cli", "demo", "--plain")
    assert "invoke_agent travel_assistant" in output
    assert "execute_tool calculator" in output and "ERROR ZeroDivisionError" in output
    assert "FLAGGED harassment -> block" in output
    for marker in ("retrieval travel-kb", "search_memory", "event user_signup", "error ConnectionError",
                   "evaluation helpfulness", "invoke_agent hub_agent", "execute_tool orders"):
        assert marker in output
    for section in ("== Summary ==", "== Agents ==", "== Models ==", "== Tools ==", "== Moderation ==",
                    "== Feedback and scores =="):
        assert section in output
    assert "mean feedback score 3.50 (2 ratings)" in output


def test_demo_also_exports_to_otlp_when_the_endpoint_is_set():
    from receivers import OTLPHTTPReceiver

    with OTLPHTTPReceiver() as receiver:
        _run("-m", "agents_hub_monitoring.cli", "demo", "--plain",
             env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        spans = receiver.wait_for_spans(30)
    names = {span["name"] for span in spans}
    assert {"invoke_agent travel_assistant", "execute_tool calculator", "invoke_agent hub_agent"} <= names


@pytest.mark.parametrize("script, expected", [
    ("examples/quickstart.py", "invoke_agent monitored_agent"),
    ("examples/custom_monitor.py", "custom monitor sent: ['llm_call', 'agent_run']"),
    ("examples/composition.py", "also exported to memory: ['invoke_agent writer']"),
])
def test_examples_run(script, expected):
    assert expected in _run(script)


def test_version_command():
    from agents_hub_monitoring import __version__

    assert _run("-m", "agents_hub_monitoring.cli", "version").strip() == __version__
