"""What span data may leave the process: ``PrivacySettings`` and the ``Scrubber`` that enforces them.

The scrubber drops attributes outside the allow-list, drops or cuts message content, pseudonymises user
ids, redacts the values of attributes whose key names a secret, redacts secrets and PII in the others and
cuts every string to a length limit. The redaction rules, and the markers they leave, are described in
``agents_hub_monitoring.redaction``; ``Redactor`` is re-exported here, where it always lived, and so are
the settings (defined in ``agents_hub_monitoring._privacy_settings``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status

from agents_hub_monitoring._privacy_settings import (
    CAPTURE_CONTENT_ENV,
    DEFAULT_CONTENT_KEYS,
    DEFAULT_NEVER_REDACT_KEYS,
    PrivacySettings,
    resolve_capture_content,
)
from agents_hub_monitoring._redaction_rules import names_secret
from agents_hub_monitoring.redaction import Redactor, map_strings
from agents_hub_monitoring.serialization import truncate_text
from agents_hub_monitoring.telemetry.pending import materialise
from agents_hub_monitoring.telemetry.span_copy import bounded_attributes, copy_span

__all__ = [
    "CAPTURE_CONTENT_ENV", "DEFAULT_CONTENT_KEYS", "DEFAULT_NEVER_REDACT_KEYS", "MAX_SPAN_NAME_CHARS",
    "PSEUDONYMIZED_KEYS", "PrivacySettings", "Redactor", "Scrubber", "names_secret", "pseudonymize",
    "resolve_capture_content",
]

_UNSCANNED_TYPES = frozenset({int, float, bool})  # exact types: they hold no text, so nothing to redact
PSEUDONYMIZED_KEYS = frozenset({"user.id", "langfuse.user.id", "enduser.id"})
MAX_SPAN_NAME_CHARS = 1024
_REDACTION_LOOKAHEAD = 1024  # text is cut to max + this before redaction, so edge secrets still match
# What the scrubber does with an attribute, decided once per key (see Scrubber._plan).
_SCAN, _KEEP, _CONTENT, _DROP, _PSEUDONYM, _SECRET = range(6)
_MAX_PLANS = 4096  # keys are mostly a fixed set; user metadata keys are not, so the cache is bounded
# Exported spans are plain ReadableSpans: their fields are read directly when this SDK has them, rather
# than through the properties, which copy events and wrap attributes in a proxy (same values).
_DIRECT = hasattr(BoundedAttributes(), "_dict") and all(
    hasattr(ReadableSpan("probe"), name) for name in ("_attributes", "_events", "_status", "_name"))


def pseudonymize(identifier: str, key: str) -> str:
    """``"u_"`` + the first 32 hex chars of HMAC-SHA256(key, identifier): stable per key, not reversible."""
    if not isinstance(key, str) or not key:
        raise ValueError("pseudonymize needs a non-empty key")
    digest = hmac.new(key.encode(), str(identifier).encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"u_{digest.hexdigest()[:32]}"


class Scrubber:
    """Applies PrivacySettings to attributes and spans: allow-list, content policy, pseudonyms, redaction.

    Content attributes (``content_keys``) are dropped when ``capture_content`` is False, else redacted and
    cut to ``max_content_chars``. With ``redact_secrets``, an attribute whose key names a secret (its last
    dotted segment reads password, secret, token, api_key, authorization, cookie...; see
    ``names_secret``) has its whole value, bools aside, replaced by the ``secret`` marker. With
    ``pseudonymize_ids`` the values of PSEUDONYMIZED_KEYS are replaced by their pseudonym (no extra
    attribute). Other strings, also inside arrays, are redacted and cut to ``max_attribute_chars``;
    ``never_redact_keys`` are only cut (never scanned, nor redacted by name); numbers are left alone.
    Span names are cut to MAX_SPAN_NAME_CHARS, not scanned; resource and link attributes are left alone.
    """

    def __init__(self, settings: PrivacySettings | None = None, *,
                 content_keys: Iterable[str] = DEFAULT_CONTENT_KEYS) -> None:
        self.settings = settings or PrivacySettings()
        self.redactor = Redactor(self.settings)
        self.content_keys = frozenset(content_keys)
        allowed, self._keep = self.settings.allowed_attributes, self.settings.never_redact_keys
        self._filtered = allowed is not None
        self._allowed_prefixes = tuple(key[:-1] for key in allowed or () if key.endswith(".*"))
        self._limit = self.settings.max_attribute_chars
        self._secret_marker = self.redactor.marker("secret")
        self._plans: dict[str, int] = {}
        self._redact = self.redactor.redact_text

    def _is_allowed(self, key: str) -> bool:
        allowed = self.settings.allowed_attributes
        return allowed is None or key in allowed or key.startswith(self._allowed_prefixes)

    def _plan(self, key: str) -> int:
        """What to do with the values of ``key``: settings and keys are fixed, so it is decided once."""
        settings, content = self.settings, key in self.content_keys
        if (self._filtered and not self._is_allowed(key)) or (content and not settings.capture_content):
            plan = _DROP
        elif settings.redact_secrets and key not in self._keep and isinstance(key, str) and names_secret(key):
            plan = _SECRET
        elif content:
            plan = _CONTENT
        elif settings.pseudonymize_ids and key in PSEUDONYMIZED_KEYS:
            plan = _PSEUDONYM
        else:
            plan = _KEEP if key in self._keep else _SCAN
        if len(self._plans) < _MAX_PLANS:
            self._plans[key] = plan
        return plan

    def _redact_within(self, text: str, limit: int) -> str:
        if len(text) > limit:  # redact a bit more than is kept, so a secret across the cut still matches
            head = text[: limit + _REDACTION_LOOKAHEAD]
            return truncate_text(self._redact(head), limit, already_dropped=len(text) - len(head))
        redacted = self._redact(text)
        return redacted if redacted is text or len(redacted) <= limit else truncate_text(redacted, limit)

    def _scrub_content_text(self, text: str) -> str:
        return self._redact_within(text, self.settings.max_content_chars)

    def _scrub_text(self, text: str) -> str:
        return self._redact_within(text, self._limit)

    def _cut_text(self, text: str) -> str:
        return text if len(text) <= self._limit else truncate_text(text, self._limit)

    def scrub_attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """A new dict holding the scrubbed attributes that may leave the process."""
        return self._scrub(attributes)[0]

    def _scrub(self, attributes: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """The scrubbed attributes, and whether any was dropped or changed (neither ``is`` nor ``==``)."""
        plans, limit, content_limit, redact = self._plans, self._limit, self.settings.max_content_chars, self._redact
        scan, keep, content, scrubbed, changed = _SCAN, _KEEP, _CONTENT, {}, False  # locals: runs per attribute
        for key, value in (attributes or {}).items():
            plan = plans.get(key)
            if plan is None:
                plan = self._plan(key)
            kind = type(value)  # str and numbers skip map_strings' isinstance checks: a span has ~20 values
            if plan > content:  # rare: dropped, pseudonymised or named a secret
                if plan == _DROP:
                    changed = True
                    continue
                if plan == _PSEUDONYM:
                    new = pseudonymize(str(value), self.settings.pseudonymization_key or "")
                else:  # the value is the secret, whatever it looks like; a bool cannot hold one
                    new = value if kind is bool else self._secret_marker
            elif kind is str:
                if plan == keep:
                    if len(value) <= limit:  # the most common case: an id, a model or a name
                        scrubbed[key] = value
                        continue
                    new = truncate_text(value, limit)
                else:
                    cut = limit if plan == scan else content_limit
                    new = redact(value) if len(value) <= cut else self._redact_within(value, cut)
                    new = new if len(new) <= cut else truncate_text(new, cut)  # markers can make text longer
            elif kind in _UNSCANNED_TYPES:  # numbers hold no text
                scrubbed[key] = value
                continue
            elif plan == keep:
                new = value if _all_short_strings(value, limit) else map_strings(value, self._cut_text)
            else:
                new = map_strings(value, self._scrub_text if plan == scan else self._scrub_content_text)
            changed = changed or (new is not value and new != value)
            scrubbed[key] = new
        return scrubbed, changed

    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        """A copy of ``span`` with scrubbed attributes, event attributes and status description, and its
        name cut to MAX_SPAN_NAME_CHARS; the span itself when nothing changed."""
        materialise(span)  # what the span's end left for this thread (telemetry/pending.py)
        if _DIRECT and type(span) is ReadableSpan:
            raw, old_events, status, name = span._attributes, span._events, span._status, span._name
            attributes, changed = self._scrub(raw._dict if type(raw) is BoundedAttributes else raw)
        else:
            attributes, changed = self._scrub(span.attributes)
            old_events, status, name = span.events, span.status, span.name
        old_events = tuple(old_events) if old_events else ()
        events = [self._scrub_event(event) for event in old_events] if old_events else []
        if status.description:
            description = self.redactor.redact_text(status.description)
            status = status if description == status.description else Status(status.status_code, description)
        long_name = type(name) is str and len(name) > MAX_SPAN_NAME_CHARS  # names are not scanned, only cut
        if long_name:
            name = truncate_text(name, MAX_SPAN_NAME_CHARS)
        events_same = not events or all(new is old for new, old in zip(events, old_events, strict=True))
        if not changed and status is span.status and events_same and not long_name:
            return span
        return copy_span(span, name=name, attributes=attributes if changed else None,
                         events=None if events_same else events, status=status)

    def _scrub_event(self, event: Event) -> Event:
        attributes, changed = self._scrub(event.attributes)
        if not changed:
            return event
        dropped = getattr(event, "dropped_attributes", 0)
        return Event(event.name, bounded_attributes(attributes, dropped), event.timestamp)


def _all_short_strings(value: Any, limit: int) -> bool:
    """Whether ``value`` is a list or tuple of strings of at most ``limit`` chars (cheaper than map_strings)."""
    if type(value) is not tuple and type(value) is not list:
        return False
    for item in value:  # noqa: SIM110 - the plain loop beats all() with a generator
        if type(item) is not str or len(item) > limit:
            return False
    return True
