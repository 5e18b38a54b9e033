"""A 3xx, or a 2xx that is not Langfuse's, is never counted as delivered.

Langfuse's API never redirects: a redirect means the base URL is not the final one (http -> https,
a proxy, a login page). Following it would lose the body (a 301/302 turns the POST into a GET that
answers 200) or send the keys elsewhere, so nothing follows it and the one log line names the
Location and the base URL to set instead.
"""

from __future__ import annotations

import io
import logging

import pytest
from langfuse_support import PUBLIC, SCORES, SECRET, TRACES

from agents_hub_monitoring.doctor import run_doctor

pytestmark = pytest.mark.usefixtures("clean_langfuse_env")

HEALTH = "/api/public/health"
PROJECTS = "/api/public/projects"


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_span_export_is_a_failure_naming_the_final_url(make_monitor, receiver, caplog, status):
    moved = f"{receiver.endpoint}/langfuse{TRACES}"
    receiver.redirect_next(moved, path_prefix=TRACES, status=status)
    monitor = make_monitor(batch=False)
    with monitor.agent_run("moved"):
        pass
    assert [(r.path, r.status) for r in receiver.requests()] == [(TRACES, status)]  # not followed
    stats = monitor.export_stats[0]
    assert (stats.exported, stats.failed) == (0, 1)
    (line,) = [m for m in _warnings(caplog) if "redirected" in m]
    assert f"Langfuse at {receiver.endpoint} redirected to {moved}: set LANGFUSE_BASE_URL to the final URL, " \
           f"e.g. {receiver.endpoint}/langfuse" in line
    assert monitor.span_exporter.last_failure == f"HTTP {status}: redirect to {moved}"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_score_is_not_counted_as_sent(make_monitor, receiver, caplog, status):
    # Followed, a 301/302 would become a GET of the health route: 200 with JSON, "sent".
    receiver.redirect_next(f"{receiver.endpoint}{HEALTH}?from=scores", path_prefix=SCORES, status=status)
    monitor = make_monitor()
    monitor.score_conversation("c1", "quality", 1.0)
    assert monitor.flush()
    assert [(r.path, r.status) for r in receiver.requests()] == [(SCORES, status)]
    assert (monitor.scores.sent, monitor.scores.failed) == (0, 1) and receiver.scores() == {}
    (line,) = [m for m in _warnings(caplog) if "redirected" in m]
    assert f"redirected to {receiver.endpoint}{HEALTH}: set LANGFUSE_BASE_URL to the final URL" in line
    assert "from=scores" not in line and "'quality' not recorded" in line


@pytest.mark.parametrize("status, body", [(200, "<html>Sign in</html>"), (204, ""), (200, b"")])
def test_a_score_answered_without_json_is_not_counted_as_sent(make_monitor, receiver, caplog, status, body):
    receiver.fail_next(SCORES, status=status, body=body)
    monitor = make_monitor()
    monitor.score_conversation("c1", "quality", 1.0)
    assert monitor.flush()
    assert len(receiver.requests(SCORES)) == 1  # final: a web page will not turn into Langfuse
    assert (monitor.scores.sent, monitor.scores.failed) == (0, 1)
    assert any("does not look like Langfuse" in m for m in _warnings(caplog))


@pytest.mark.parametrize("status", [200, 201, 202, 207])
def test_scores_accepted_with_json_count_as_sent(make_monitor, receiver, status):
    receiver.fail_next(SCORES, status=status, body={"id": "from-langfuse"})
    monitor = make_monitor()
    monitor.score_conversation("c1", "quality", 1.0)
    assert monitor.flush()
    assert (monitor.scores.sent, monitor.scores.failed) == (1, 0)


def test_doctor_reports_a_redirect_instead_of_following_it(receiver):
    receiver.redirect_next(f"{receiver.endpoint}/langfuse{HEALTH}", path_prefix=HEALTH, status=301)
    out = io.StringIO()
    code = run_doctor(host=receiver.endpoint, public_key=PUBLIC, secret_key=SECRET, stream=out, timeout_s=2.0)
    output = out.getvalue()
    assert code == 1, output
    assert f"[FAIL] host redirects: Langfuse at {receiver.endpoint} redirected to {receiver.endpoint}/langfuse" \
           f"{HEALTH}: set LANGFUSE_BASE_URL to the final URL, e.g. {receiver.endpoint}/langfuse" in output
    assert [r.path for r in receiver.requests()] == [HEALTH]


def test_doctor_reports_a_login_page_redirect_on_the_key_check(receiver):
    receiver.redirect_next("/login?next=/api/public/projects", path_prefix=PROJECTS, status=302)
    out = io.StringIO()
    code = run_doctor(host=receiver.endpoint, public_key=PUBLIC, secret_key=SECRET, stream=out, timeout_s=2.0)
    output = out.getvalue()
    assert code == 1, output
    assert f"[FAIL] host redirects: Langfuse at {receiver.endpoint} redirected to {receiver.endpoint}/login: " \
           "set LANGFUSE_BASE_URL to the final URL" in output
    assert "next=" not in output and "Verdict: NOT OK - host redirects." in output
    assert [r.path for r in receiver.requests()] == [HEALTH, PROJECTS]
