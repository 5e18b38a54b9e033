"""``agents-hub-monitoring doctor``: is Langfuse set up correctly from here?

Resolves the settings the way ``LangfuseMonitor`` does (secrets shown masked), checks that the host
answers like Langfuse (``GET /api/public/health`` -> JSON with a ``status``), that it accepts the
keys with a real authenticated request (``GET /api/public/projects`` -> JSON with a ``data`` list)
and, if asked, sends a test trace and a score (whose reply must carry an ``id``). Redirects are
not followed: the monitor does not follow them either. Prints one line per check and a verdict;
returns 0 when everything passed, 1 otherwise, 2 for invalid arguments.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import uuid
from typing import Any, TextIO

import requests

from agents_hub_monitoring.exporters.langfuse_http import (
    attempt_from,
    describe_response,
    is_key_rejection,
    json_body,
    redirect_message,
)
from agents_hub_monitoring.langfuse_settings import (
    ENV_BASE_URL,
    ENV_HOST,
    ENV_PUBLIC_KEY,
    ENV_SECRET_KEY,
    HEALTH_PATH,
    PROJECTS_PATH,
    LangfuseSettings,
    mask_secret,
)

__all__ = ["add_arguments", "run_doctor", "run_from_args"]

_NOT_LANGFUSE = "this does not look like a Langfuse server"
_KEY_HINT = ("check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY: keys belong to one project on one host "
             "(EU https://cloud.langfuse.com, US https://us.cloud.langfuse.com, or your own server)")


class _Report:
    """Check lines and the verdict, written to ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.failures: list[str] = []

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")

    def ok(self, text: str) -> None:
        self.line(f"[ OK ] {text}")

    def fail(self, summary: str, detail: str, fix: str | None = None) -> None:
        self.failures.append(summary)
        self.line(f"[FAIL] {summary}: {detail}")
        if fix:
            self.line(f"       fix: {fix}")

    def skip(self, text: str) -> None:
        self.line(f"[SKIP] {text}")


def _source(argument: str | None, *names: str) -> str:
    if argument:
        return "argument"
    return next((f"from {name}" for name in names if os.environ.get(name, "").strip()), "not set")


def _print_settings(report: _Report, settings: LangfuseSettings, public_key: str | None,
                    secret_key: str | None, host: str | None) -> None:
    report.line("Langfuse settings")
    host_source = "default (Langfuse Cloud EU)" if settings.host_source == "default" else (
        "argument" if settings.host_source == "argument" else f"from {settings.host_source}")
    rows = [("host", settings.display_host, host_source),
            ("public key", mask_secret(settings.public_key), _source(public_key, ENV_PUBLIC_KEY)),
            ("secret key", mask_secret(settings.secret_key), _source(secret_key, ENV_SECRET_KEY)),
            ("release", settings.release or "-", ""), ("environment", settings.environment or "default", ""),
            ("sample rate", "1.0" if settings.sample_rate is None else f"{settings.sample_rate:g}", "")]
    for label, value, source in rows:
        report.line(f"  {label:<12} {value:<40} {source}".rstrip())
    if host is None and settings.host_source == ENV_HOST:
        report.line(f"  note: {ENV_HOST} is deprecated; prefer {ENV_BASE_URL}")
    report.line()


def _get(report: _Report, session: requests.Session, settings: LangfuseSettings, path: str,
         timeout_s: float, **kwargs: Any) -> requests.Response | None:
    """GET without following redirects; a 3xx is reported (with the base URL to use) and gives None."""
    response = session.get(settings.url(path), timeout=timeout_s, allow_redirects=False, **kwargs)
    if 300 <= response.status_code < 400:
        report.fail("host redirects", redirect_message(settings, attempt_from(response), path))
        return None
    return response


def _check_health(report: _Report, session: requests.Session, settings: LangfuseSettings, timeout_s: float) -> bool:
    try:
        response = _get(report, session, settings, HEALTH_PATH, timeout_s)
    except requests.RequestException as error:
        report.fail("host unreachable", f"GET {HEALTH_PATH} failed: {type(error).__name__}",
                    f"check the host URL ({settings.display_host}), your network and any proxy")
        return False
    if response is None:
        return False
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict) or "status" not in body:
        answer = f"HTTP {response.status_code}" + ("" if isinstance(body, dict) else ", not JSON")
        report.fail("host answered, but not like Langfuse", f"GET {HEALTH_PATH} -> {answer}: {_NOT_LANGFUSE}",
                    "the host should be the Langfuse base URL, without a path such as /api")
        return False
    version = f" (Langfuse {body['version']})" if body.get("version") else ""
    report.ok(f"host reachable: GET {HEALTH_PATH} -> 200{version}")
    return True


def _check_keys(report: _Report, session: requests.Session, settings: LangfuseSettings,
                timeout_s: float) -> dict[str, Any] | None:
    if settings.missing_keys():
        report.fail("keys missing", f"not set: {', '.join(settings.missing_keys())}",
                    "pass --public-key/--secret-key or set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY")
        return None
    try:
        response = _get(report, session, settings, PROJECTS_PATH, timeout_s,
                        headers={"Authorization": settings.authorization})
    except requests.RequestException as error:
        report.fail("key check failed", f"GET {PROJECTS_PATH} failed: {type(error).__name__}")
        return None
    if response is None:
        return None
    if is_key_rejection(attempt_from(response)):
        report.fail("keys rejected", f"HTTP {response.status_code}: {describe_response(response)}", _KEY_HINT)
        return None
    if response.status_code != 200:
        report.fail("key check failed", f"GET {PROJECTS_PATH} -> HTTP {response.status_code}: "
                    f"{describe_response(response)}")
        return None
    body = json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        report.fail("key check failed", f"GET {PROJECTS_PATH} -> 200 without a project list: {_NOT_LANGFUSE}")
        return None
    project = body["data"][0] if body["data"] and isinstance(body["data"][0], dict) else {}
    name = f" (project {project.get('name')!r}, id {project.get('id')})" if project.get("id") else ""
    report.ok(f"keys accepted{name}")
    return project


def _send_test_trace(report: _Report, settings: LangfuseSettings, project: dict[str, Any], timeout_s: float) -> None:
    from agents_hub_monitoring.monitors.langfuse import LangfuseMonitor  # the monitor is only needed here

    monitor = LangfuseMonitor(settings.public_key, settings.secret_key, settings.host, settings.release,
                              settings.environment, 1.0, timeout_s=timeout_s, batch=False, score_retries=1,
                              shutdown_timeout_s=timeout_s, name="agents-hub-doctor")
    try:
        conversation = f"agents-hub-doctor-{uuid.uuid4().hex[:8]}"
        with monitor.agent_run("agents-hub-doctor", context={"conversation_id": conversation},
                               input="doctor: test trace") as run:
            run.set_output("ok")
        monitor.score("agents-hub-doctor", 1, data_type="BOOLEAN", trace_id=run.trace_id,
                      comment="test score from agents-hub-monitoring doctor")
        monitor.flush(timeout_s)
        exported = sum(stats.exported for stats in monitor.export_stats)
        if exported and monitor.span_exporter.last_failure is None:
            where = f": {settings.display_host}/project/{project['id']}/traces/{run.trace_id}" if project.get("id") \
                else f" (trace id {run.trace_id})"
            report.ok(f"test trace accepted{where}")
        else:
            report.fail("test trace not accepted", monitor.span_exporter.last_failure or "nothing was exported")
        reply = monitor.scores.last_reply
        if monitor.scores.sent and isinstance(reply, dict) and reply.get("id"):
            report.ok("test score accepted (name 'agents-hub-doctor')")
        elif monitor.scores.sent:
            report.fail("test score not accepted", f"the reply carries no score id: {_NOT_LANGFUSE}")
        else:
            report.fail("test score not accepted", monitor.scores.last_failure or "not sent in time")
    finally:
        monitor.shutdown()


def run_doctor(*, host: str | None = None, public_key: str | None = None, secret_key: str | None = None,
               send_test_trace: bool = False, stream: TextIO = sys.stdout, timeout_s: float = 5.0) -> int:
    """Run the checks, print them and a verdict to ``stream``; 0 when all passed, 1 otherwise, 2 for an
    invalid ``timeout_s``."""
    report = _Report(stream)
    if not _valid_timeout(timeout_s):
        report.line(f"error: the timeout must be a positive number of seconds, got {timeout_s!r}")
        return 2
    try:
        settings = LangfuseSettings.resolve(public_key, secret_key, host, require_keys=False)
    except ValueError as error:
        report.fail("invalid settings", str(error))
        return _verdict(report)
    _print_settings(report, settings, public_key, secret_key, host)
    with requests.Session() as session:
        reachable = _check_health(report, session, settings, timeout_s)
        project = _check_keys(report, session, settings, timeout_s) if reachable else None
    if not reachable:
        report.skip("key check (the host check failed)")
    if send_test_trace:
        if project is None:
            report.skip("test trace and score (fix the checks above first)")
        else:
            _send_test_trace(report, settings, project, timeout_s)
    return _verdict(report)


def _verdict(report: _Report) -> int:
    report.line()
    if report.failures:
        report.line(f"Verdict: NOT OK - {'; '.join(report.failures)}.")
        return 1
    report.line("Verdict: OK - Langfuse is reachable and accepts these keys.")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``doctor`` sub-command's flags (values default to the LANGFUSE_* variables)."""
    parser.add_argument("--host", help="Langfuse base URL (default: LANGFUSE_BASE_URL, LANGFUSE_HOST, Cloud EU)")
    parser.add_argument("--public-key", help="Langfuse public key (default: LANGFUSE_PUBLIC_KEY)")
    parser.add_argument("--secret-key", help="Langfuse secret key (default: LANGFUSE_SECRET_KEY; prefer the "
                        "variable: command lines are visible to other users)")
    parser.add_argument("--send-test-trace", action="store_true", help="also send a test trace and score")
    parser.add_argument("--timeout", type=_timeout_argument, default=5.0, help="seconds per request (default: 5)")


def _valid_timeout(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _timeout_argument(text: str) -> float:
    """``--timeout``: argparse turns the error into a usage message and exit status 2."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not _valid_timeout(value):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def run_from_args(args: argparse.Namespace, stream: TextIO = sys.stdout) -> int:
    return run_doctor(host=args.host, public_key=args.public_key, secret_key=args.secret_key,
                      send_test_trace=args.send_test_trace, stream=stream, timeout_s=args.timeout)
