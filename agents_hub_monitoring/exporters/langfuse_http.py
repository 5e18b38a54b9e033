"""HTTP outcomes shared by the Langfuse span exporter, the scores client and ``doctor``.

* ``HTTPAttempt``: what one request came to (a status, a transport error, or no request at all).
* Redirects are failures: Langfuse's API never redirects, so a 3xx means the base URL is not the
  final one (http -> https, a proxy, a login page). Nothing is followed: the body would be lost
  (POST -> GET) or the keys sent to another host; ``redirect_message`` says what to set instead.
* 401 is a key rejection; a 403 only when its body does not say otherwise (Langfuse answers 403
  "Ingestion suspended: Usage threshold exceeded" for a project over its quota).
* ``RefusalCooldown``: after a 401/403 nothing more is sent for a while, by spans *and* scores, so
  wrong keys cost one request per cool-down and one log line, not one per batch or score.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

import requests

from agents_hub_monitoring._safety import internal_logger
from agents_hub_monitoring.langfuse_settings import ENV_BASE_URL, LangfuseSettings, display_host

__all__ = [
    "ACCEPTED_SCORE_STATUSES", "AUTH_COOLDOWN_S", "HTTPAttempt", "RefusalCooldown", "attempt_from",
    "describe_response", "is_key_rejection", "json_body", "redirect_message",
]

AUTH_COOLDOWN_S = 60.0
ACCEPTED_SCORE_STATUSES = frozenset({200, 201, 202, 207})  # one object: 200; a list (newer SDKs): 202/207
_REASON_CHARS = 200
# Words of a 403 that is about the credentials; any other explanation (quota, suspension) is not.
_KEY_WORDS = ("credential", "key", "auth", "access denied", "forbidden", "permission", "no details")


class HTTPAttempt(NamedTuple):
    """The outcome of one request: a status, the transport error that replaced it, or no request."""

    status: int | None
    reason: str
    timed_out: bool = False
    location: str | None = None  # the Location of a 3xx
    unsent: bool = False  # the client gave up before sending (e.g. over its max request size)

    @property
    def redirected(self) -> bool:
        return self.status is not None and 300 <= self.status < 400

    def describe(self) -> str:
        if self.redirected:
            return f"HTTP {self.status}: redirect to {_shown(self.location)}"
        return f"HTTP {self.status}: {self.reason}" if self.status is not None else self.reason


def describe_response(response: requests.Response) -> str:
    """Langfuse's own message from an error body (``message``/``error``), short and on one line."""
    text = ""
    with contextlib.suppress(Exception):
        body = response.json()
        if isinstance(body, dict):
            text = str(body.get("message") or body.get("error") or "")
            if isinstance(body.get("error"), list) and body.get("message"):
                text = f"{body['message']}: {json.dumps(body['error'])}"
    if not text:
        with contextlib.suppress(Exception):
            text = response.text
    text = " ".join((text or response.reason or "").split())
    return text[:_REASON_CHARS] or "no details"


def json_body(response: requests.Response) -> Any:
    """The parsed JSON body, or None when there is none (an HTML page, an empty reply)."""
    try:
        return response.json()
    except ValueError:
        return None


def attempt_from(response: requests.Response) -> HTTPAttempt:
    return HTTPAttempt(response.status_code, describe_response(response),
                       location=response.headers.get("Location"))


def is_key_rejection(attempt: HTTPAttempt) -> bool:
    """401 always; 403 unless Langfuse's message names another cause (e.g. a usage threshold)."""
    if attempt.status == 401:
        return True
    return attempt.status == 403 and any(word in attempt.reason.lower() for word in _KEY_WORDS)


def _shown(location: str | None) -> str:
    # Without query or user info: a login page's ``?next=...`` or credentials stay out of logs.
    if not location:
        return "(no Location header)"
    return display_host(location) if urlsplit(location).scheme else urlsplit(location).path or "/"


def redirect_message(settings: LangfuseSettings, attempt: HTTPAttempt, path: str) -> str:
    """``Langfuse at X redirected to Y: set LANGFUSE_BASE_URL to the final URL, e.g. Z``."""
    target = urljoin(settings.url(path), attempt.location) if attempt.location else None
    message = f"Langfuse at {settings.display_host} redirected to {_shown(target)}: set {ENV_BASE_URL} to the final URL"
    if target is None:
        return message
    shown = _shown(target)
    parts = urlsplit(shown)
    # The same API path behind the redirect: the base is what precedes it; otherwise suggest the site.
    suggestion = shown[: -len(path)] if parts.path.endswith(path) else f"{parts.scheme}://{parts.netloc}"
    return message if suggestion == settings.display_host else f"{message}, e.g. {suggestion}"


class RefusalCooldown:
    """After Langfuse refuses the keys (401/403), nothing is sent for ``cooldown_s``: shared by the
    span exporter and the scores client, because the keys will not fix themselves."""

    def __init__(self, cooldown_s: float = AUTH_COOLDOWN_S) -> None:
        self.cooldown_s = float(cooldown_s)
        self._lock = threading.Lock()
        self._until = 0.0

    def active(self) -> bool:
        return time.monotonic() < self._until

    def refuse(self, settings: LangfuseSettings, attempt: HTTPAttempt) -> None:
        """Start (or extend) the cool-down; the first refusal of a cool-down logs the one line."""
        with self._lock:
            now = time.monotonic()
            first, self._until = now >= self._until, now + self.cooldown_s
        if not first:
            return
        if is_key_rejection(attempt):
            internal_logger.error(
                "langfuse:auth", "agents_hub_monitoring: Langfuse rejected the keys for host %s (%s). Spans and "
                "scores are not sent for the next %.0fs; check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY and that "
                "the keys belong to this host (run `agents-hub-monitoring doctor`).",
                settings.display_host, attempt.describe(), self.cooldown_s)
        else:
            internal_logger.error(
                "langfuse:refused", "agents_hub_monitoring: Langfuse at %s refused the request (%s). Spans and "
                "scores are not sent for the next %.0fs.", settings.display_host, attempt.describe(), self.cooldown_s)
