"""The secret and PII rules applied by ``agents_hub_monitoring.redaction.Redactor`` (described there).

Each rule first checks a cheap trigger (a substring, or "has a digit") so clean text skips its regex.
Triggers are ``Has`` objects, or carry a ``screen``, so that ``Redactor`` can also derive one pre-check
for all rules from them. ``names_secret`` is the rule on attribute keys (the ``Scrubber`` applies it).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ASCII_DIGITS", "PII_RULES", "SECRET_RULES", "Has", "Probe", "Rule", "has_digit", "names_secret"]

ASCII_DIGITS = "0123456789"


class Probe:
    """Lazily computed facts about one text, shared by all rule triggers."""

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def folded(self) -> str:
        return self.text.lower()

    @functools.cached_property
    def has_digit(self) -> bool:
        return any(digit in self.text for digit in ASCII_DIGITS)  # ten memchr calls beat one regex scan


_Trigger = Callable[[Probe], bool]


class Has:
    """Trigger: the text holds one of ``needles`` (searched lower-cased if ``folded``) and, if given, one of
    the ``requires`` characters (checked first: single-character searches are nearly free). A class, not a
    closure, so that ``Redactor`` can merge every rule's needles into one pre-check."""

    __slots__ = ("folded", "needles", "requires")

    def __init__(self, *needles: str, folded: bool = False, requires: str = "") -> None:
        self.needles, self.folded, self.requires = needles, folded, requires

    def __call__(self, probe: Probe) -> bool:
        if self.requires and not any(char in probe.text for char in self.requires):
            return False
        haystack = probe.folded if self.folded else probe.text
        return any(needle in haystack for needle in self.needles)


def has_digit(probe: Probe) -> bool:
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
class Rule:
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
    # A cheap regex over the raw text that matches wherever ``regex`` can (``regex`` minus its look-arounds),
    # for rules whose trigger is too broad to pre-check text with ("has a digit"). It starts with a single
    # character class or escaped symbol (no quantifier): see ``redaction._joined``.
    screen: str | None = None

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.regex, self.flags)


SECRET_RULES = (
    Rule("private_key", r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
          r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)", Has("-----BEGIN"), flags=re.S),
    Rule("jwt", r"eyJ(?<!\weyJ)[\w-]{6,}\.[\w-]{6,}\.[\w-]*", Has("eyJ"), flags=re.A),
    Rule("bearer_token", r"[Bb](?<!\w[Bb])(?i:earer)\s+(?P<v>[\w.~+/=-]{12,})", Has("bearer", folded=True),
          _has_symbol_or_digit, flags=re.A),
    Rule("basic_auth", r"[Bb](?<!\w[Bb])(?i:asic)\s+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])",
          Has("basic", folded=True), _is_basic_credentials, flags=re.A),
    Rule("password", r"://[^\s/:@]+:(?P<v>[^\s/@]+)@", Has("://", requires="@")),
    Rule("anthropic_key", r"sk-ant-(?<!\wsk-ant-)[\w-]{20,}", Has("sk-ant-"), flags=re.A),
    Rule("langfuse_key", r"[sp]k-lf-(?<!\w[sp]k-lf-)[\w-]{8,}", Has("k-lf-"), flags=re.A),
    Rule("openai_key", r"sk-(?<!\wsk-)(?:proj-|svcacct-|admin-)?(?=[A-Za-z_-]*\d)[\w-]{20,}", Has("sk-"),
          flags=re.A),
    Rule("aws_access_key", r"A(?<!\wA)(?:KIA|SIA)[A-Z0-9]{16}\b", Has("AKIA", "ASIA")),
    Rule("aws_secret", r"[Aa](?<!\w[Aa])(?i:ws_?secret(?:_?access)?_?key)[\"']?\s*[:=]\s*[\"']?"
          r"(?P<v>[A-Za-z0-9/+=]{30,})", Has("aws", folded=True, requires=":=")),
    Rule("github_token", r"g(?<!\wg)(?:h[pousr]_[A-Za-z0-9]{30,}|ithub_pat_\w{30,})",
          Has("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", requires="_"), flags=re.A),
    Rule("slack_token", r"xox(?<!\wxox)[baprs]-[A-Za-z0-9-]{10,}", Has("xox")),
    Rule("google_api_key", r"AIza(?<!\wAIza)[\w-]{30,}", Has("AIza"), flags=re.A),
    Rule("secret", _ASSIGNED_SECRET,
          Has("pass", "pwd", "secret", "token", "key", "credential", folded=True, requires=":=")),
)
PII_RULES = (
    Rule("email", r"[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b", Has("@")),
    Rule("iban", r"[A-Z](?<!\w[A-Z])[A-Z]\d\d(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", has_digit,
         _is_iban, re.A, screen=r"[A-Z][A-Z][0-9]{2}"),
    Rule("credit_card", r"\d(?<![\w.-]\d)(?:[ -]?\d){12,18}(?![\w-]|\.\d)", has_digit, _is_card_number, re.A,
         screen=r"[0-9](?:[ -]?[0-9]){12}"),
    Rule("ssn", r"\d(?<![\w-]\d)\d\d(?<!000)(?<!666)(?<!9\d\d)-(?!00)\d\d-(?!0000)\d{4}(?![\w-])",
         Has("-", requires=ASCII_DIGITS), flags=re.A, screen=r"[0-9][0-9]{2}-[0-9]{2}-[0-9]{4}"),
    Rule("ip_address", r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\w|\.\d)", Has(".", requires=ASCII_DIGITS),
         _is_ipv4, re.A, screen=r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]"),
    Rule("phone", r"\+(?<![\w+]\+)[1-9][\d ().-]{6,22}\d(?!\w)", Has("+", requires=ASCII_DIGITS),
         _is_international_phone, re.A, screen=r"\+[1-9][0-9 ().-]{6,22}[0-9]"),
    Rule("phone", r"\((?<![\w+.-]\()[2-9]\d\d\) ?\d{3}[ .-]\d{4}(?![\w-]|\.\d)", Has("(", requires=ASCII_DIGITS),
         flags=re.A, screen=r"\([2-9][0-9]{2}\) ?[0-9]{3}[ .-][0-9]{4}"),
    Rule("phone", r"\d(?<![\w+.-]\d)(?:(?<=1)[ .-]?[2-9]\d\d|(?<=[2-9])\d\d)[ .-]\d{3}[ .-]\d{4}(?![\w-]|\.\d)",
         has_digit, flags=re.A, screen=r"[0-9][0-9]{2}[ .-][0-9]{3}[ .-][0-9]{4}"),
)


# Attribute keys naming a secret, matched on the last dotted segment in snake case (``apiKey``, ``API-KEY``
# and ``api_key`` all read ``api_key``). Distinctive words match at the end of the segment with the separators
# removed (``db_password``, ``x-api-key``, ``clientSecret``, ``set-cookie``); "token" and "auth" only as a whole
# last word (``access_token``, ``basic_auth``, not ``oauth``), and never "tokens": token COUNTS are not secrets
# (``gen_ai.usage.input_tokens``, ``max_tokens``), nor is a count-like singular (``max_token``, ``input_token``).
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SECRET_SUFFIX = re.compile(
    r"(?:pass(?:word|wd|phrase)|pwd|secrets?|(?:api|access|private|secret|signing|encryption)key|credentials?"
    r"|authorization|cookies?|(?:auth|access|refresh|session|id|bearer|api|csrf|xsrf)token)$")
_SECRET_WORD = re.compile(r"(?:^|_)(?:token|auth)$")
_COUNT_TOKEN = re.compile(
    r"(?:^|_)(?:max|min|num|n|input|output|prompt|completion|total|reasoning|cached?|context|used|remaining)_token$")


def names_secret(key: str) -> bool:
    """Whether the attribute ``key`` names a secret, so that its whole value must be redacted."""
    snake = _CAMEL_HUMP.sub("_", key.rpartition(".")[2]).lower().replace("-", "_")
    if _SECRET_SUFFIX.search(snake.replace("_", "")):
        return True
    return _SECRET_WORD.search(snake) is not None and _COUNT_TOKEN.search(snake) is None
