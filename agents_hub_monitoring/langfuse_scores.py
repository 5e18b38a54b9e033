"""Scores and feedback to Langfuse's scores API, sent in the background.

``submit`` only appends to a bounded queue; one worker thread posts each score as a single JSON
object to ``POST /api/public/scores``. Every score gets a client-generated ``id`` that is reused
on every retry, so a retry after a lost response updates the score instead of duplicating it.
5xx, 408, 429 and transport errors are retried with exponential backoff (Retry-After honoured,
capped); other 4xx are final and logged once with Langfuse's reason. A score counts as sent only
on 200/201/202/207 with a JSON body; a redirect is never followed (a 301/302 would turn the POST
into a GET that "succeeds") and is reported with its Location. After a 401/403, seen here or by the
span exporter (the cool-down is shared), scores are dropped and counted, not posted, until the
cool-down ends. ``flush`` waits for the queue to drain; ``close`` drains within a deadline and then
gives up, counting what was left.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from typing import Any

import requests

from agents_hub_monitoring._safety import internal_logger, report_internal_failure
from agents_hub_monitoring._version import __version__
from agents_hub_monitoring.exporters.langfuse_http import (
    ACCEPTED_SCORE_STATUSES,
    HTTPAttempt,
    RefusalCooldown,
    attempt_from,
    json_body,
    redirect_message,
)
from agents_hub_monitoring.langfuse_settings import SCORES_PATH, SDK_NAME, LangfuseSettings

__all__ = ["LangfuseScoresClient"]

_MAX_RETRY_AFTER_S = 60.0
logger = logging.getLogger(__name__)


class LangfuseScoresClient:
    """Background sender for score bodies; never blocks or raises into the caller."""

    def __init__(self, settings: LangfuseSettings, *, timeout_s: float = 5.0, retries: int = 4,
                 max_queue: int = 1_000, backoff_s: float = 0.5, max_backoff_s: float = 8.0,
                 refusals: RefusalCooldown | None = None) -> None:
        if retries < 0 or max_queue < 1:
            raise ValueError("score_retries must be >= 0 and the score queue size >= 1")
        self.settings = settings
        self.refusals = refusals if refusals is not None else RefusalCooldown()
        self._timeout_s = timeout_s
        self._retries = int(retries)
        self._max_queue = max_queue
        self._backoff_s, self._max_backoff_s = backoff_s, max_backoff_s
        self._cond = threading.Condition()
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._in_flight = 0
        self._worker: threading.Thread | None = None
        self._closing = threading.Event()
        self._deadline: float | None = None
        self.sent = self.failed = self.dropped = 0
        self.last_failure: str | None = None
        self.last_reply: Any = None  # Langfuse's JSON answer to the last score sent

    def __repr__(self) -> str:
        return f"LangfuseScoresClient(host={self.settings.display_host!r}, pending={self.pending})"

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def submit(self, body: dict[str, Any]) -> str:
        """Queue one score body; returns its id (generated unless given)."""
        score = {"id": str(uuid.uuid4()), **body}
        if self.settings.environment and "environment" not in score:
            score["environment"] = self.settings.environment
        with self._cond:
            if self._closing.is_set() or len(self._queue) >= self._max_queue:
                self.dropped += 1
                reason = "the monitor is shut down" if self._closing.is_set() else f"{self._max_queue} are queued"
                internal_logger.warning("langfuse:score-dropped", "agents_hub_monitoring: Langfuse score %r "
                                        "dropped: %s", score.get("name"), reason)
                return score["id"]
            self._queue.append(score)
            self._start_worker()
            self._cond.notify_all()
        return score["id"]

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="agents-hub-langfuse-scores", daemon=True)
            self._worker.start()

    def flush(self, timeout_s: float) -> bool:
        """Wait until every queued score is sent or given up; False when ``timeout_s`` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, max(timeout_s, 0.0))

    def begin_close(self, timeout_s: float) -> None:
        """Stop taking scores; the worker drains the queue until ``timeout_s`` from now."""
        with self._cond:
            self._deadline = time.monotonic() + max(timeout_s, 0.0)
            self._closing.set()
            self._cond.notify_all()

    def join(self, timeout_s: float) -> bool:
        """Wait for the worker to finish draining; counts and reports scores left behind."""
        worker = self._worker
        if worker is not None:
            worker.join(max(timeout_s, 0.0))
        with self._cond:
            left = len(self._queue) + self._in_flight
            self._queue.clear()  # a worker still busy past the deadline finds nothing more to do
        if left:
            self.dropped += left
            internal_logger.warning("langfuse:score-left", "agents_hub_monitoring: %d Langfuse score(s) could not be "
                                    "sent before shutdown (last error: %s)", left, self.last_failure or "none")
        return not left

    def close(self, timeout_s: float) -> bool:
        self.begin_close(timeout_s)
        return self.join(timeout_s)

    # -- the worker --------------------------------------------------------------------------------------
    def _run(self) -> None:
        session = requests.Session()
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._closing.is_set())
                    if not self._queue:
                        return
                    score = self._queue.popleft()
                    self._in_flight = 1
                try:
                    self._deliver(session, score)
                except Exception as error:
                    report_internal_failure("langfuse scores", error)
                finally:
                    with self._cond:
                        self._in_flight = 0
                        self._cond.notify_all()
        finally:
            session.close()

    def _deliver(self, session: requests.Session, score: dict[str, Any]) -> None:
        for attempt in range(self._retries + 1):
            if self.refusals.active():  # the keys were refused: reported once, by whoever saw it
                with self._cond:
                    self.dropped += 1
                logger.debug("agents_hub_monitoring: Langfuse score %r dropped: keys refused recently",
                             score.get("name"))
                return
            outcome, retry_after = self._post(session, score)
            if outcome is None:
                self.sent += 1
                return
            self.last_failure = outcome.describe()
            if not _retryable(outcome):
                self._report_final(score, outcome)
                return
            delay = retry_after if retry_after is not None else self._backoff_s * 2 ** attempt
            if attempt == self._retries or not self._sleep(min(delay, self._max_backoff_s)):
                break
        self.failed += 1
        internal_logger.warning("langfuse:score-failed", "agents_hub_monitoring: Langfuse score %r not recorded "
                                "after %d attempt(s) to %s (%s)", score.get("name"), attempt + 1,
                                self.settings.display_host, self.last_failure)

    def _report_final(self, score: dict[str, Any], outcome: HTTPAttempt) -> None:
        self.failed += 1
        if outcome.status in (401, 403):
            self.refusals.refuse(self.settings, outcome)
        elif outcome.redirected:
            internal_logger.error("langfuse:redirect", "agents_hub_monitoring: %s; score %r not recorded",
                                  redirect_message(self.settings, outcome, SCORES_PATH), score.get("name"))
        else:
            internal_logger.warning("langfuse:score-rejected", "agents_hub_monitoring: Langfuse rejected score %r "
                                    "(%s); not retried", score.get("name"), outcome.describe())

    def _post(self, session: requests.Session, score: dict[str, Any]) -> tuple[HTTPAttempt | None, float | None]:
        timeout = self._timeout_s
        if self._deadline is not None:
            timeout = min(timeout, self._deadline - time.monotonic())
            if timeout <= 0:
                return HTTPAttempt(None, "shutdown deadline reached"), None
        headers = {"Authorization": self.settings.authorization, "x-langfuse-sdk-name": SDK_NAME,
                   "x-langfuse-sdk-version": __version__}
        try:
            response = session.post(self.settings.url(SCORES_PATH), json=score, headers=headers, timeout=timeout,
                                    allow_redirects=False)
        except requests.Timeout as error:
            return HTTPAttempt(None, f"timed out ({type(error).__name__})", timed_out=True), None
        except requests.RequestException as error:
            return HTTPAttempt(None, f"{type(error).__name__} (is the host reachable?)"), None
        reply = json_body(response)
        if response.status_code in ACCEPTED_SCORE_STATUSES and reply is not None:
            self.last_reply = reply
            return None, None
        if 200 <= response.status_code < 300:  # a web page or a proxy, not Langfuse's scores API
            return HTTPAttempt(response.status_code, f"{response.reason or 'OK'} without a JSON body; this does "
                               "not look like Langfuse's scores API"), None
        return attempt_from(response), _retry_after(response)

    def _sleep(self, delay: float) -> bool:
        """Back off for ``delay``; False when that would pass the shutdown deadline (give up)."""
        end = time.monotonic() + delay
        if not self._closing.is_set():
            self._closing.wait(delay)  # wakes early when shutdown begins, to check the deadline
        if self._closing.is_set():
            if self._deadline is None or end > self._deadline:
                return False
            time.sleep(max(end - time.monotonic(), 0.0))
        return True


def _retryable(outcome: HTTPAttempt) -> bool:
    return outcome.status is None or outcome.status in (408, 429) or outcome.status >= 500


def _retry_after(response: requests.Response) -> float | None:
    try:
        return min(max(float(response.headers.get("Retry-After", "")), 0.0), _MAX_RETRY_AFTER_S)
    except ValueError:
        return None
