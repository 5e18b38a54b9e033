"""``doctor`` against the local Langfuse receiver: a good setup, a wrong key, a wrong host."""

from __future__ import annotations

import argparse
import io
import socket

import pytest
from langfuse_support import PUBLIC, SECRET

from agents_hub_monitoring.cli import main
from agents_hub_monitoring.doctor import add_arguments, run_doctor, run_from_args
from agents_hub_monitoring.langfuse_settings import mask_secret

pytestmark = pytest.mark.usefixtures("clean_langfuse_env")


def _doctor(**kwargs) -> tuple[int, str]:
    out = io.StringIO()
    code = run_doctor(stream=out, timeout_s=2.0, **kwargs)
    return code, out.getvalue()


def test_good_setup_passes_and_sends_a_test_trace_and_score(monkeypatch, receiver):
    monkeypatch.setenv("LANGFUSE_BASE_URL", receiver.endpoint)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SECRET)
    code, output = _doctor(send_test_trace=True)
    assert code == 0, output
    assert "[ OK ] host reachable" in output and "[ OK ] keys accepted (project 'shop', id proj-1)" in output
    assert "[ OK ] test trace accepted" in output and "[ OK ] test score accepted" in output
    assert "Verdict: OK" in output and "from LANGFUSE_SECRET_KEY" in output
    assert "sk-lf-...5555" in output and SECRET not in output and PUBLIC not in output
    (trace,) = receiver.traces()
    assert trace["name"] == "agents-hub-doctor" and f"/traces/{trace['id']}" in output
    (score,) = receiver.scores().values()
    assert score["traceId"] == trace["id"] and score["dataType"] == "BOOLEAN"


def test_wrong_key_is_reported_and_fails(receiver):
    wrong = "sk-lf-wr0ng0-9999-8888-7777-666655554444"
    code, output = _doctor(host=receiver.endpoint, public_key=PUBLIC, secret_key=wrong, send_test_trace=True)
    assert code == 1
    assert "[ OK ] host reachable" in output
    assert "[FAIL] keys rejected: HTTP 401: Invalid credentials" in output
    assert "[SKIP] test trace" in output and "Verdict: NOT OK - keys rejected." in output
    assert wrong not in output
    assert receiver.requests("/api/public/otel/v1/traces") == []


def test_wrong_host_is_reported_and_fails():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, output = _doctor(host=f"http://127.0.0.1:{port}", public_key=PUBLIC, secret_key=SECRET)
    assert code == 1
    assert "[FAIL] host unreachable" in output and f"127.0.0.1:{port}" in output
    assert "Verdict: NOT OK - host unreachable." in output


def test_missing_keys_are_named(receiver):
    code, output = _doctor(host=receiver.endpoint)
    assert code == 1
    assert "[FAIL] keys missing: not set: LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY" in output


def test_a_url_that_is_not_langfuse_fails(receiver):
    code, output = _doctor(host=f"{receiver.endpoint}/api", public_key=PUBLIC, secret_key=SECRET)
    assert code == 1 and "not like Langfuse" in output


def test_cli_flags(receiver):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--host", receiver.endpoint, "--public-key", PUBLIC, "--secret-key", SECRET,
                              "--timeout", "2"])
    out = io.StringIO()
    assert run_from_args(args, stream=out) == 0
    assert "Verdict: OK" in out.getvalue()


NOT_LANGFUSE = "this does not look like a Langfuse server"


@pytest.mark.parametrize("path, body", [
    ("/api/public", "<html><body>My web app</body></html>"),  # any web server answering 200 everywhere
    ("/api/public/health", {"ok": True}),  # JSON, but no "status"
    ("/api/public/health", ["OK"]),
])
def test_a_host_answering_200_but_not_like_langfuse_fails(receiver, path, body):
    receiver.fail_next(path, status=200, times=5, body=body)
    code, output = _doctor(host=receiver.endpoint, public_key=PUBLIC, secret_key=SECRET, send_test_trace=True)
    assert code == 1, output
    assert "[FAIL] host answered, but not like Langfuse" in output and NOT_LANGFUSE in output
    assert "[ OK ]" not in output and receiver.requests("/api/public/otel/v1/traces") == []


@pytest.mark.parametrize("body", ["<html>Welcome</html>", {"projects": []}, {"data": "proj-1"}])
def test_a_key_check_answer_without_a_project_list_fails(receiver, body):
    receiver.fail_next("/api/public/projects", status=200, body=body)
    code, output = _doctor(host=receiver.endpoint, public_key=PUBLIC, secret_key=SECRET)
    assert code == 1, output
    assert "[ OK ] host reachable" in output and "[FAIL] key check failed" in output and NOT_LANGFUSE in output
    assert "keys accepted" not in output


def test_a_score_reply_without_an_id_fails(receiver):
    receiver.fail_next("/api/public/scores", status=200, body={"ok": True})
    code, output = _doctor(host=receiver.endpoint, public_key=PUBLIC, secret_key=SECRET, send_test_trace=True)
    assert code == 1, output
    assert "[ OK ] test trace accepted" in output
    assert f"[FAIL] test score not accepted: the reply carries no score id: {NOT_LANGFUSE}" in output


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "soon"])
def test_an_invalid_timeout_is_a_usage_error_not_a_traceback(capsys, timeout):
    with pytest.raises(SystemExit) as exited:
        main(["doctor", "--host", "http://127.0.0.1:9", "--timeout", timeout])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "--timeout" in error and "positive number of seconds" in error and "Traceback" not in error


@pytest.mark.parametrize("timeout", [0, -2.5, float("inf")])
def test_run_doctor_refuses_an_invalid_timeout_with_status_2(timeout):
    out = io.StringIO()
    assert run_doctor(host="http://127.0.0.1:9", stream=out, timeout_s=timeout) == 2
    assert "positive number of seconds" in out.getvalue()


@pytest.mark.parametrize("key, shown", [
    (SECRET, "sk-lf-...5555"), ("sk-lf-test", "sk-lf-..."), ("pk-lf-short", "pk-lf-..."), (None, "<not set>"),
    ("no-prefix-but-quite-long-1234", "...1234"),
])
def test_secrets_are_masked(key, shown):
    assert mask_secret(key) == shown
