"""What span data may leave the process: ``PrivacySettings`` and the ``Scrubber`` that enforces them.

The scrubber drops attributes outside the allow-list, drops or cuts message content, pseudonymises user
ids and redacts secrets and PII. The redaction rules, and the markers they leave, are described in
``agents_hub_monitoring.redaction``; ``Redactor`` is re-exported here, where it always lived.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Status

from agents_hub_monitoring.redaction import Redactor, map_strings
from agents_hub_monitoring.serialization import truncate_text
from agents_hub_monitoring.telemetry import semconv as sc

__all__ = [
    "DEFAULT_CONTENT_KEYS", "DEFAULT_NEVER_REDACT_KEYS", "PSEUDONYMIZED_KEYS", "PrivacySettings",
    "Redactor", "Scrubber", "pseudonymize",
]

_logger = logging.getLogger(__name__)

DEFAULT_CONTENT_KEYS = frozenset({
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.retrieval.query.text",
    "gen_ai.retrieval.documents", "input.value", "output.value", "langfuse.observation.input",
    "langfuse.observation.output", "gen_ai.tool.definitions",
})
# Ids, model names and enum-like values: scanning them could only produce false positives, and costs
# about 1 us per value on the export thread. The second group holds values this package sets itself.
DEFAULT_NEVER_REDACT_KEYS = frozenset({
    "gen_ai.conversation.id", "gen_ai.response.id", "gen_ai.tool.call.id", "gen_ai.agent.id",
    "gen_ai.agent.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.provider.name",
    "gen_ai.system", "gen_ai.tool.name", "gen_ai.operation.name", "gen_ai.tool.type",
    "gen_ai.response.finish_reasons", "session.id", "server.address", "langfuse.session.id",
    "langfuse.trace.id", "langfuse.observation.id", "langfuse.observation.type",
    "langfuse.observation.model.name", "exception.type", "error.type", "service.name",
    sc.OUTCOME, sc.GEN_AI_USAGE_COST_CURRENCY, sc.GEN_AI_USAGE_COST_SOURCE, sc.EVALUATION_KIND,
    sc.MEMORY_OPERATION, sc.GEN_AI_TOKEN_TYPE, sc.LANGFUSE_OBSERVATION_LEVEL,
})
_UNSCANNED_TYPES = frozenset({int, float, bool})  # exact types: they hold no text, so nothing to redact
PSEUDONYMIZED_KEYS = frozenset({"user.id", "langfuse.user.id", "enduser.id"})
_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CAPTURE_MODES = {"no_content": False, "span_only": True, "event_only": True, "span_and_event": True}
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
_REDACTION_LOOKAHEAD = 1024  # content is cut to max + this before redaction, so edge secrets still match


@dataclass(frozen=True)
class PrivacySettings:
    """What may leave the process.

    ``allowed_attributes`` entries ending in ``.*`` allow a prefix. ``extra_patterns`` matches are
    redacted as ``custom``; when a pattern has a group named ``v`` only that group is redacted.
    """

    capture_content: bool = True
    max_content_chars: int = 10_000
    redact_secrets: bool = True
    redact_pii: bool = True
    extra_patterns: tuple[str, ...] = ()
    redaction_text: str = "[REDACTED]"
    pseudonymize_ids: bool = False
    pseudonymization_key: str | None = field(default=None, repr=False)
    allowed_attributes: frozenset[str] | None = None
    never_redact_keys: frozenset[str] = DEFAULT_NEVER_REDACT_KEYS

    def __post_init__(self) -> None:
        if isinstance(self.max_content_chars, bool) or not isinstance(self.max_content_chars, int):
            raise ValueError(f"max_content_chars must be an int, got {type(self.max_content_chars).__name__}")
        if self.max_content_chars <= 0:
            raise ValueError(f"max_content_chars must be > 0, got {self.max_content_chars}")
        if not isinstance(self.redaction_text, str) or not self.redaction_text:
            raise ValueError("redaction_text must be a non-empty string")
        if not isinstance(self.pseudonymization_key, (str, type(None))):  # never echo the key itself
            raise ValueError("pseudonymization_key must be a string")
        if self.pseudonymize_ids and not self.pseudonymization_key:
            raise ValueError("pseudonymize_ids=True needs a non-empty pseudonymization_key")
        # Frozen, yet callers pass lists and sets: normalise once here so every reader sees one type.
        object.__setattr__(self, "extra_patterns", tuple(_strings("extra_patterns", self.extra_patterns)))
        for pattern in self.extra_patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"invalid regex in extra_patterns: {pattern!r}: {error}") from None
        keep = frozenset(_strings("never_redact_keys", self.never_redact_keys))
        object.__setattr__(self, "never_redact_keys", keep)
        if self.allowed_attributes is not None:
            allowed = frozenset(_strings("allowed_attributes", self.allowed_attributes))
            object.__setattr__(self, "allowed_attributes", allowed)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PrivacySettings:
        """Settings from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (NO_CONTENT | SPAN_ONLY |
        EVENT_ONLY | SPAN_AND_EVENT | true | false, case-insensitive; unset: capture; unknown: no capture,
        with a warning), ``AGENTS_HUB_REDACT_PII`` / ``AGENTS_HUB_REDACT_SECRETS`` (true/false, default and
        unknown: true) and ``AGENTS_HUB_PSEUDONYMIZATION_KEY`` (when set, ids are pseudonymised)."""
        env = os.environ if environ is None else environ
        key = env.get("AGENTS_HUB_PSEUDONYMIZATION_KEY") or None
        return cls(
            capture_content=_capture_from_env(env.get(_CAPTURE_ENV, "")),
            redact_pii=_flag_from_env(env, "AGENTS_HUB_REDACT_PII"),
            redact_secrets=_flag_from_env(env, "AGENTS_HUB_REDACT_SECRETS"),
            pseudonymize_ids=key is not None, pseudonymization_key=key,
        )


def _strings(name: str, values: Any) -> list[str]:
    if not isinstance(values, Iterable) or isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name} must be a collection of strings, got {values!r}")
    return list(values)


def _capture_from_env(raw: str) -> bool:
    mode = raw.strip().lower()
    if not mode:
        return True
    if mode in _CAPTURE_MODES or mode in _TRUE | _FALSE:
        return _CAPTURE_MODES.get(mode, mode in _TRUE)
    _logger.warning("%s=%r is not recognised; message content will not be captured", _CAPTURE_ENV, raw)
    return False


def _flag_from_env(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw and raw not in _TRUE | _FALSE:
        _logger.warning("%s=%r is not true/false; keeping redaction on", name, raw)
    return raw not in _FALSE


def pseudonymize(identifier: str, key: str) -> str:
    """``"u_"`` + the first 32 hex chars of HMAC-SHA256(key, identifier): stable per key, not reversible."""
    if not isinstance(key, str) or not key:
        raise ValueError("pseudonymize needs a non-empty key")
    digest = hmac.new(key.encode(), str(identifier).encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"u_{digest.hexdigest()[:32]}"


class Scrubber:
    """Applies PrivacySettings to attributes and spans: allow-list, content policy, pseudonyms, redaction.

    Content attributes (``content_keys``) are dropped when ``capture_content`` is False, else redacted and
    cut to ``max_content_chars``. With ``pseudonymize_ids`` the values of PSEUDONYMIZED_KEYS are replaced
    by their pseudonym (no extra attribute). ``never_redact_keys`` and non-string values are not scanned.
    Span names and resource attributes are left alone; link attributes too.
    """

    def __init__(self, settings: PrivacySettings | None = None, *,
                 content_keys: Iterable[str] = DEFAULT_CONTENT_KEYS) -> None:
        self.settings = settings or PrivacySettings()
        self.redactor = Redactor(self.settings)
        self.content_keys = frozenset(content_keys)
        allowed, self._keep = self.settings.allowed_attributes, self.settings.never_redact_keys
        self._filtered = allowed is not None
        self._allowed_prefixes = tuple(key[:-1] for key in allowed or () if key.endswith(".*"))

    def _is_allowed(self, key: str) -> bool:
        allowed = self.settings.allowed_attributes
        return allowed is None or key in allowed or key.startswith(self._allowed_prefixes)

    def _scrub_content_text(self, text: str) -> str:
        limit = self.settings.max_content_chars
        if len(text) <= limit:
            return self.redactor.redact_text(text)
        head = text[: limit + _REDACTION_LOOKAHEAD]
        return truncate_text(self.redactor.redact_text(head), limit, already_dropped=len(text) - len(head))

    def scrub_attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """A new dict holding the scrubbed attributes that may leave the process."""
        return self._scrub(attributes)[0]

    def _scrub(self, attributes: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """The scrubbed attributes, and whether any was dropped or changed (neither ``is`` nor ``==``)."""
        settings, content_keys, keep, scrubbed, changed = self.settings, self.content_keys, self._keep, {}, False
        for key, value in (attributes or {}).items():
            if (self._filtered and not self._is_allowed(key)) or (not settings.capture_content and key in content_keys):
                changed = True
                continue
            kind = type(value)  # str and numbers skip map_strings' isinstance checks: a span has ~15 values
            if key in content_keys:
                new = self._scrub_content_text(value) if kind is str else map_strings(value, self._scrub_content_text)
            elif settings.pseudonymize_ids and key in PSEUDONYMIZED_KEYS:
                new = pseudonymize(str(value), settings.pseudonymization_key or "")
            elif key in keep or kind in _UNSCANNED_TYPES:
                new = value
            else:
                new = self.redactor.redact_text(value) if kind is str else self.redactor.redact_value(value)
            changed = changed or (new is not value and new != value)
            scrubbed[key] = new
        return scrubbed, changed

    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        """A copy of ``span`` with scrubbed attributes, event attributes and status description; the
        span itself when nothing changed."""
        attributes, changed = self._scrub(span.attributes)
        events = [self._scrub_event(event) for event in span.events]
        status = span.status
        if status.description:
            description = self.redactor.redact_text(status.description)
            status = status if description == status.description else Status(status.status_code, description)
        events_same = all(new is old for new, old in zip(events, span.events, strict=True))
        if not changed and status is span.status and events_same:
            return span
        attributes = attributes if changed else span.attributes
        return ReadableSpan(
            name=span.name, context=span.context, parent=span.parent, resource=span.resource,
            attributes=_bounded(attributes, span.dropped_attributes),
            events=_bounded_list(events, span.dropped_events),
            links=_bounded_list(span.links, span.dropped_links),
            kind=span.kind, status=status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_info=getattr(span, "_instrumentation_info", None),
            instrumentation_scope=span.instrumentation_scope,
        )

    def _scrub_event(self, event: Event) -> Event:
        attributes, changed = self._scrub(event.attributes)
        if not changed:
            return event
        dropped = getattr(event, "dropped_attributes", 0)
        return Event(event.name, _bounded(attributes, dropped), event.timestamp)


def _bounded(attributes: Mapping[str, Any], dropped: int) -> BoundedAttributes:
    # Keeps the SDK's dropped-attribute count, which exporters report to the backend.
    bounded = BoundedAttributes(maxlen=None, attributes=attributes, immutable=True)
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: Iterable[Any], dropped: int) -> BoundedList:
    bounded = BoundedList.from_seq(None, items)
    bounded.dropped = dropped
    return bounded
