"""Redaction and pseudonymisation of span data before it leaves the process.

Every match is replaced by a typed marker derived from ``PrivacySettings.redaction_text``: with the
default ``"[REDACTED]"`` it reads ``"[REDACTED:<kind>]"``; a redaction_text not ending in ``]`` is used
verbatim. Kinds. Secrets: private_key, jwt, bearer_token, basic_auth, password (in URLs), anthropic_key,
langfuse_key, openai_key, aws_access_key, aws_secret, github_token, slack_token, google_api_key, secret
(the value of ``password=`` / ``api_key:`` / ``secret=`` / ``token=``-like assignments; the key stays).
PII: email, iban (country length + mod-97 checked), credit_card (network prefix + Luhn checked,
13-19 digits, optional spaces/dashes), ssn (dashed), ip_address (IPv4), phone (``+`` international with
8-15 digits, or US ``(415) 555-2671`` / ``415-555-2671`` forms; never bare integers). User patterns: custom.

Each rule first checks a cheap trigger (a substring, or "has a digit") so clean text skips its regex.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Status

from agents_hub_monitoring.serialization import truncate_text

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
# Ids, model names and enum-like values: scanning them could only produce false positives.
DEFAULT_NEVER_REDACT_KEYS = frozenset({
    "gen_ai.conversation.id", "gen_ai.response.id", "gen_ai.tool.call.id", "gen_ai.agent.id",
    "gen_ai.agent.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.provider.name",
    "gen_ai.system", "gen_ai.tool.name", "gen_ai.operation.name", "gen_ai.tool.type",
    "gen_ai.response.finish_reasons", "session.id", "server.address", "langfuse.session.id",
    "langfuse.trace.id", "langfuse.observation.id", "langfuse.observation.type",
    "langfuse.observation.model.name", "exception.type", "error.type", "service.name",
})
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


class _Probe:
    """Lazily computed facts about one text, shared by all rule triggers."""

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def folded(self) -> str:
        return self.text.lower()

    @functools.cached_property
    def has_digit(self) -> bool:
        return any(digit in self.text for digit in "0123456789")  # ten memchr calls beat one regex scan


_Trigger = Callable[[_Probe], bool]


def _has(*needles: str, folded: bool = False, requires: str = "") -> _Trigger:
    """Text holds one of ``needles`` (searched lower-cased if ``folded``) and, if given, one of the
    ``requires`` characters (checked first: single-character searches are nearly free)."""

    def trigger(probe: _Probe) -> bool:
        if requires and not any(char in probe.text for char in requires):
            return False
        haystack = probe.folded if folded else probe.text
        return any(needle in haystack for needle in needles)

    return trigger


def _has_digit(probe: _Probe) -> bool:
    return probe.has_digit


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _is_card_number(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return (13 <= len(digits) <= 19 and _CARD_NETWORK.match(digits) is not None
            and len(set(digits)) > 1 and _luhn_ok(digits))


def _is_iban(text: str) -> bool:
    compact = text.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    return int("".join(str(int(char, 36)) for char in compact[4:] + compact[:4])) % 97 == 1


def _is_ipv4(text: str) -> bool:
    return all(int(octet) <= 255 for octet in text.split("."))


def _is_international_phone(text: str) -> bool:
    digits = sum(char.isdigit() for char in text)
    return 8 <= digits <= 15 and re.search(r"[ .-]{2}", text) is None


def _is_basic_credentials(token: str) -> bool:
    try:
        return b":" in base64.b64decode(token, validate=True)
    except ValueError:
        return False


def _has_symbol_or_digit(token: str) -> bool:
    return re.search(r"[\d.~+/=-]", token) is not None  # "Bearer certificates" is prose, not a token


_CARD_NETWORK = re.compile(r"4|5[1-5]|2[2-7]|3[04-9]|6")  # Visa, Mastercard, Amex/Diners/JCB, Discover...
_IBAN_LENGTHS = {entry[:2]: int(entry[2:]) for entry in str.split(
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28 "
    "EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 "
    "JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 "
    "NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 "
    "TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30")}
# The value of an identifier ending in a secret-ish word, as in `db_password = "x"`, `"apiKey": "x"`.
_ASSIGNED_SECRET = (
    r"[PpSsTtAaCc](?i:(?<=p)ass(?:word|wd)|(?<=p)wd|(?<=s)ecret|(?<=t)oken|(?<=a)pi[_-]?key|(?<=a)pikey"
    r"|(?<=p)rivate[_-]?key|(?<=a)ccess[_-]?key|(?<=c)redentials?)"
    r"[\"']?[ \t]*[:=][ \t]*(?P<q>[\"'])?(?P<v>(?(q)[^\"'\n]+|[^\s\"',;&)}\]]+))"
)


@dataclass(frozen=True)
class _Rule:
    """Redacts group ``v`` of each match, or the whole match when the pattern has no such group.

    Patterns start with a literal or a character class wherever possible, with word boundaries
    written as look-behinds after it: ``re`` then jumps between candidate characters instead of
    trying every position, which is several times faster on long texts.
    """

    kind: str
    regex: str
    trigger: _Trigger | None = None  # None: always run
    check: Callable[[str], bool] | None = None  # validates the candidate before redacting it
    flags: int = 0

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.regex, self.flags)


_SECRET_RULES = (
    _Rule("private_key", r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
          r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)", _has("-----BEGIN"), flags=re.S),
    _Rule("jwt", r"eyJ(?<!\weyJ)[\w-]{6,}\.[\w-]{6,}\.[\w-]*", _has("eyJ"), flags=re.A),
    _Rule("bearer_token", r"[Bb](?<!\w[Bb])(?i:earer)\s+(?P<v>[\w.~+/=-]{12,})", _has("bearer", folded=True),
          _has_symbol_or_digit, flags=re.A),
    _Rule("basic_auth", r"[Bb](?<!\w[Bb])(?i:asic)\s+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])",
          _has("basic", folded=True), _is_basic_credentials, flags=re.A),
    _Rule("password", r"://[^\s/:@]+:(?P<v>[^\s/@]+)@", _has("://", requires="@")),
    _Rule("anthropic_key", r"sk-ant-(?<!\wsk-ant-)[\w-]{20,}", _has("sk-ant-"), flags=re.A),
    _Rule("langfuse_key", r"[sp]k-lf-(?<!\w[sp]k-lf-)[\w-]{8,}", _has("k-lf-"), flags=re.A),
    _Rule("openai_key", r"sk-(?<!\wsk-)(?:proj-|svcacct-|admin-)?(?=[A-Za-z_-]*\d)[\w-]{20,}", _has("sk-"),
          flags=re.A),
    _Rule("aws_access_key", r"A(?<!\wA)(?:KIA|SIA)[A-Z0-9]{16}\b", _has("AKIA", "ASIA")),
    _Rule("aws_secret", r"[Aa](?<!\w[Aa])(?i:ws_?secret(?:_?access)?_?key)[\"']?\s*[:=]\s*[\"']?"
          r"(?P<v>[A-Za-z0-9/+=]{30,})", _has("aws", folded=True, requires=":=")),
    _Rule("github_token", r"g(?<!\wg)(?:h[pousr]_[A-Za-z0-9]{30,}|ithub_pat_\w{30,})",
          _has("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", requires="_"), flags=re.A),
    _Rule("slack_token", r"xox(?<!\wxox)[baprs]-[A-Za-z0-9-]{10,}", _has("xox")),
    _Rule("google_api_key", r"AIza(?<!\wAIza)[\w-]{30,}", _has("AIza"), flags=re.A),
    _Rule("secret", _ASSIGNED_SECRET,
          _has("pass", "pwd", "secret", "token", "key", "credential", folded=True, requires=":=")),
)
_PII_RULES = (
    _Rule("email", r"[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b", _has("@")),
    _Rule("iban", r"[A-Z](?<!\w[A-Z])[A-Z]\d\d(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", _has_digit,
          _is_iban, re.A),
    _Rule("credit_card", r"\d(?<![\w.-]\d)(?:[ -]?\d){12,18}(?![\w-]|\.\d)", _has_digit, _is_card_number, re.A),
    _Rule("ssn", r"\d(?<![\w-]\d)\d\d(?<!000)(?<!666)(?<!9\d\d)-(?!00)\d\d-(?!0000)\d{4}(?![\w-])",
          _has("-", requires="0123456789"), flags=re.A),
    _Rule("ip_address", r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\w|\.\d)", _has(".", requires="0123456789"),
          _is_ipv4, re.A),
    _Rule("phone", r"\+(?<![\w+]\+)[1-9][\d ().-]{6,22}\d(?!\w)", _has("+", requires="0123456789"),
          _is_international_phone, re.A),
    _Rule("phone", r"\((?<![\w+.-]\()[2-9]\d\d\) ?\d{3}[ .-]\d{4}(?![\w-]|\.\d)", _has("(", requires="0123456789"),
          flags=re.A),
    _Rule("phone", r"\d(?<![\w+.-]\d)(?:(?<=1)[ .-]?[2-9]\d\d|(?<=[2-9])\d\d)[ .-]\d{3}[ .-]\d{4}(?![\w-]|\.\d)",
          _has_digit, flags=re.A),
)


def _marker(redaction_text: str, kind: str) -> str:
    return f"{redaction_text[:-1]}:{kind}]" if redaction_text.endswith("]") else redaction_text


def _map_strings(value: Any, transform: Callable[[str], str]) -> Any:
    """Apply ``transform`` to every string in an attribute value; the same object back when unchanged."""
    if isinstance(value, str):
        return transform(value)
    if isinstance(value, (list, tuple)):
        items = [_map_strings(item, transform) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return (items if isinstance(value, list) else tuple(items)) if changed else value
    if isinstance(value, Mapping):  # OTel >= 1.4x accepts nested mappings as attribute values
        mapped = {key: _map_strings(item, transform) for key, item in value.items()}
        return mapped if any(mapped[key] is not item for key, item in value.items()) else value
    return value


class Redactor:
    """Replaces secrets, PII and ``extra_patterns`` matches in text with typed markers."""

    def __init__(self, settings: PrivacySettings | None = None) -> None:
        settings = settings or PrivacySettings()
        # Secrets run first: their markers then shield the value from the broader rules that follow.
        rules = [*_SECRET_RULES] if settings.redact_secrets else []
        rules += [*_PII_RULES] if settings.redact_pii else []
        rules += [_Rule("custom", pattern) for pattern in settings.extra_patterns]
        self._already_redacted = settings.redaction_text.removesuffix("]")
        # Patterns are compiled here, once, rather than on the first exported span.
        self._steps = [(rule.pattern, rule.trigger, self._replacer(rule, _marker(settings.redaction_text, rule.kind)))
                       for rule in rules]

    def _replacer(self, rule: _Rule, marker: str) -> Callable[[re.Match[str]], str]:
        group = "v" if "v" in rule.pattern.groupindex else 0

        def replace(match: re.Match[str]) -> str:
            value = match.group(group)
            if not value or value.startswith(self._already_redacted):
                return match.group(0)
            if rule.check is not None and not rule.check(value):
                return match.group(0)
            start, end = match.span(group)
            return f"{match.string[match.start():start]}{marker}{match.string[end:match.end()]}"

        return replace

    def redact_text(self, text: str) -> str:
        """``text`` with every match replaced; the same object when nothing matched."""
        if not text or not isinstance(text, str):
            return text
        probe = _Probe(text)
        for pattern, trigger, replace in self._steps:
            if trigger is None or trigger(probe):
                text = pattern.sub(replace, text)
        return text

    def redact_value(self, value: Any) -> Any:
        """Attribute value: strings redacted, also inside lists, tuples and mappings; others untouched."""
        return _map_strings(value, self.redact_text)


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
        allowed = self.settings.allowed_attributes
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
        settings, scrubbed = self.settings, {}
        for key, value in (attributes or {}).items():
            if not self._is_allowed(key):
                continue
            if key in self.content_keys:
                if not settings.capture_content:
                    continue
                value = _map_strings(value, self._scrub_content_text)
            elif settings.pseudonymize_ids and key in PSEUDONYMIZED_KEYS:
                value = pseudonymize(str(value), settings.pseudonymization_key or "")
            elif key not in settings.never_redact_keys:
                value = self.redactor.redact_value(value)
            scrubbed[key] = value
        return scrubbed

    def _scrubbed_or_none(self, attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """Scrubbed attributes, or None when scrubbing changed nothing."""
        original = attributes or {}
        scrubbed = self.scrub_attributes(original)
        same = len(scrubbed) == len(original) and all(
            scrubbed[key] is value or scrubbed[key] == value for key, value in original.items())
        return None if same else scrubbed

    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        """A copy of ``span`` with scrubbed attributes, event attributes and status description; the
        span itself when nothing changed."""
        attributes = self._scrubbed_or_none(span.attributes)
        events = [self._scrub_event(event) for event in span.events]
        status = span.status
        if status.description:
            description = self.redactor.redact_text(status.description)
            status = status if description == status.description else Status(status.status_code, description)
        events_same = all(new is old for new, old in zip(events, span.events, strict=True))
        if attributes is None and status is span.status and events_same:
            return span
        attributes = span.attributes if attributes is None else attributes
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
        attributes = self._scrubbed_or_none(event.attributes)
        if attributes is None:
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
