"""The secret and PII rules behind ``PrivacySettings``, and the ``Redactor`` that applies them to text.

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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents_hub_monitoring.privacy import PrivacySettings

__all__ = ["Redactor", "map_strings"]


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


def map_strings(value: Any, transform: Callable[[str], str]) -> Any:
    """Apply ``transform`` to every string in an attribute value; the same object back when unchanged."""
    if isinstance(value, str):
        return transform(value)
    if isinstance(value, (list, tuple)):
        items = [map_strings(item, transform) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return (items if isinstance(value, list) else tuple(items)) if changed else value
    if isinstance(value, Mapping):  # OTel >= 1.4x accepts nested mappings as attribute values
        mapped = {key: map_strings(item, transform) for key, item in value.items()}
        return mapped if any(mapped[key] is not item for key, item in value.items()) else value
    return value


def _default_settings() -> PrivacySettings:
    # Imported on use: privacy imports this module while loading, so a top-level import would be circular.
    from agents_hub_monitoring.privacy import PrivacySettings

    return PrivacySettings()


class Redactor:
    """Replaces secrets, PII and ``extra_patterns`` matches in text with typed markers."""

    def __init__(self, settings: PrivacySettings | None = None) -> None:
        settings = settings or _default_settings()
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
        return map_strings(value, self.redact_text)

