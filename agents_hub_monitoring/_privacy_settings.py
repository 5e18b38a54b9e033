"""``PrivacySettings``, what may leave the process, and how the environment and the monitor's arguments set it.

Kept apart from the ``Scrubber`` that enforces them (``agents_hub_monitoring.privacy``, which re-exports
everything here and is the module to import from).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents_hub_monitoring.telemetry import semconv as sc

__all__ = [
    "CAPTURE_CONTENT_ENV", "DEFAULT_CONTENT_KEYS", "DEFAULT_NEVER_REDACT_KEYS", "PrivacySettings",
    "resolve_capture_content",
]

_logger = logging.getLogger("agents_hub_monitoring.privacy")

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
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# Content goes on spans only for the span modes: EVENT_ONLY asks for content on events alone, and this
# package emits no content events, so spans get none.
_CAPTURE_MODES = {"no_content": False, "span_only": True, "event_only": False, "span_and_event": True}
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class PrivacySettings:
    """What may leave the process.

    ``capture_content``: whether message content (prompts, completions, tool arguments and results,
    retrieved documents) goes on spans, cut to ``max_content_chars``. A monitor decides it in this order:
    its ``capture_content=`` argument when given; else ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
    when set (SPAN_ONLY, SPAN_AND_EVENT, true, 1: on; NO_CONTENT, EVENT_ONLY, false, 0, anything else: off);
    else this field (default on). See ``resolve_capture_content``.
    ``max_attribute_chars``: every other string attribute value (also inside string arrays) is cut to it.
    ``allowed_attributes`` entries ending in ``.*`` allow a prefix. ``extra_patterns`` matches are
    redacted as ``custom``; when a pattern has a group named ``v`` only that group is redacted.
    """

    capture_content: bool = True
    max_content_chars: int = 10_000
    max_attribute_chars: int = 4096
    redact_secrets: bool = True
    redact_pii: bool = True
    extra_patterns: tuple[str, ...] = ()
    redaction_text: str = "[REDACTED]"
    pseudonymize_ids: bool = False
    pseudonymization_key: str | None = field(default=None, repr=False)
    allowed_attributes: frozenset[str] | None = None
    never_redact_keys: frozenset[str] = DEFAULT_NEVER_REDACT_KEYS

    def __post_init__(self) -> None:
        _check_positive_int("max_content_chars", self.max_content_chars)
        _check_positive_int("max_attribute_chars", self.max_attribute_chars)
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
        """Settings from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (case-insensitive; unset or
        blank: capture; SPAN_ONLY, SPAN_AND_EVENT, true, 1: capture; NO_CONTENT, EVENT_ONLY, false, 0: no
        capture; unknown: no capture, with a warning), ``AGENTS_HUB_REDACT_PII`` / ``AGENTS_HUB_REDACT_SECRETS``
        (true/false, default and unknown: true) and ``AGENTS_HUB_PSEUDONYMIZATION_KEY`` (when set, ids are
        pseudonymised)."""
        env = os.environ if environ is None else environ
        key = env.get("AGENTS_HUB_PSEUDONYMIZATION_KEY") or None
        return cls(
            capture_content=_capture_from_env(env.get(CAPTURE_CONTENT_ENV, "")),
            redact_pii=_flag_from_env(env, "AGENTS_HUB_REDACT_PII"),
            redact_secrets=_flag_from_env(env, "AGENTS_HUB_REDACT_SECRETS"),
            pseudonymize_ids=key is not None, pseudonymization_key=key,
        )


def resolve_capture_content(settings: PrivacySettings | None, explicit: bool | None, *,
                            environ: Mapping[str, str] | None = None) -> PrivacySettings:
    """The settings a monitor runs with: ``settings`` (or, when None, ``PrivacySettings.from_env()``) with
    ``capture_content`` taken from, in order, ``explicit`` (the monitor's ``capture_content=`` argument)
    when not None, ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` when set and not blank, and
    ``settings.capture_content``. Returns ``settings`` itself when that changes nothing."""
    env = os.environ if environ is None else environ
    if settings is None:
        if explicit is not None:  # the variable is overridden: do not warn about its value
            env = {name: value for name, value in env.items() if name != CAPTURE_CONTENT_ENV}
        settings = PrivacySettings.from_env(env)
    raw = env.get(CAPTURE_CONTENT_ENV, "")
    if explicit is not None:
        capture = bool(explicit)
    elif raw.strip():
        capture = _capture_from_env(raw)
    else:
        return settings
    return settings if capture == settings.capture_content else dataclasses.replace(settings, capture_content=capture)


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


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
    _logger.warning("%s=%r is not recognised; message content will not be captured", CAPTURE_CONTENT_ENV, raw)
    return False


def _flag_from_env(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw and raw not in _TRUE | _FALSE:
        _logger.warning("%s=%r is not true/false; keeping redaction on", name, raw)
    return raw not in _FALSE
