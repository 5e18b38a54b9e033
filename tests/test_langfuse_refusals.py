"""401/403 from Langfuse: one cool-down shared by spans and scores, and a 403 reported as what it is.

A wrong key will not fix itself, so after the first refusal nothing is sent, spans or scores, for
the cool-down: one request and one log line instead of one per batch and one per score. Langfuse
also answers 403 for reasons that are not the keys (a project over its usage threshold); those are
logged with Langfuse's own message, never as "rejected the keys".
"""

from __future__ import annotations

import logging

import pytest
from langfuse_support import PUBLIC, SCORES, TRACES, WRONG_SECRET

pytestmark = pytest.mark.usefixtures("clean_langfuse_env")

SUSPENDED = "Ingestion suspended: Usage threshold exceeded. Please upgrade your plan."


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_wrong_keys_cost_one_score_post_per_cooldown_not_one_per_score(make_monitor, receiver, caplog):
    monitor = make_monitor(secret=WRONG_SECRET)
    ids = [monitor.score("quality", 1.0, session_id="s1") for _ in range(20)]
    assert monitor.flush()
    with monitor.agent_run("after-the-rejection"):
        pass
    monitor.flush()
    assert [r.status for r in receiver.requests(SCORES)] == [401]
    assert receiver.requests(TRACES) == []  # the scores' 401 paused the spans too
    assert (monitor.scores.sent, monitor.scores.failed, monitor.scores.dropped) == (0, 1, 19)
    assert all(ids) and monitor.export_stats[0].failed == 1
    # Only lines about this test's receiver: a monitor left over from an earlier test may still log.
    (line,) = [m for m in _warnings(caplog) if "Langfuse" in m and receiver.endpoint in m]
    assert f"Langfuse rejected the keys for host {receiver.endpoint}" in line and "Spans and scores" in line
    assert WRONG_SECRET not in line and PUBLIC not in line


def test_a_span_rejection_pauses_scores_already_queued(make_monitor, receiver, caplog):
    monitor = make_monitor(secret=WRONG_SECRET, batch=False)
    with monitor.agent_run("rejected", context={"conversation_id": "c1"}):
        pass
    monitor.score_conversation("c1", "helpfulness", 0.5)
    monitor.add_user_feedback("c1", 2)
    assert monitor.flush()
    assert [r.status for r in receiver.requests(TRACES)] == [401] and receiver.requests(SCORES) == []
    assert monitor.scores.dropped == 2
    assert len([m for m in _warnings(caplog) if "rejected the keys" in m]) == 1


@pytest.mark.parametrize("path", [TRACES, SCORES])
def test_a_403_for_another_reason_is_logged_with_langfuses_message(make_monitor, receiver, caplog, path):
    receiver.fail_next(path, status=403, body={"message": SUSPENDED})
    monitor = make_monitor(batch=False)
    if path == TRACES:
        with monitor.agent_run("over-quota"):
            pass
    else:
        monitor.score("quality", 1.0, session_id="s1")
    monitor.flush()
    # Only lines about this test's receiver: a monitor left over from an earlier test may still log.
    (line,) = [m for m in _warnings(caplog) if "Langfuse" in m and receiver.endpoint in m]
    assert f"Langfuse at {receiver.endpoint} refused the request (HTTP 403: {SUSPENDED})" in line
    assert "rejected the keys" not in line and "LANGFUSE_SECRET_KEY" not in line


@pytest.mark.parametrize("body", [{"message": "Access denied: a public key alone (Bearer) may only create scores"},
                                  {"message": "Invalid credentials"}, b""])
def test_a_403_about_access_is_still_a_key_rejection(make_monitor, receiver, caplog, body):
    receiver.fail_next(TRACES, status=403, body=body)
    monitor = make_monitor(batch=False)
    with monitor.agent_run("forbidden"):
        pass
    assert any(f"Langfuse rejected the keys for host {receiver.endpoint} (HTTP 403" in m for m in _warnings(caplog))
