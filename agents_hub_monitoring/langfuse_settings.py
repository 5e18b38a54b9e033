"""Langfuse connection settings: arguments first, then the ``LANGFUSE_*`` variables.

Resolution follows the Langfuse SDK (see ``contracts/langfuse.md``): base URL from the argument,
then ``LANGFUSE_BASE_URL``, then the deprecated ``LANGFUSE_HOST``, then Langfuse Cloud. The keys
are held in fields excluded from ``repr`` and only ever shown masked (``sk-lf-...abcd``).
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from agents_hub_monitoring._safety import internal_logger
from agents_hub_monitoring._version import __version__

__all__ = [
    "DEFAULT_HOST", "HEALTH_PATH", "PROJECTS_PATH", "SCORES_PATH", "TRACES_PATH", "LangfuseSettings",
    "display_host", "mask_secret",
]

DEFAULT_HOST = "https://cloud.langfuse.com"
TRACES_PATH = "/api/public/otel/v1/traces"
SCORES_PATH = "/api/public/scores"
HEALTH_PATH = "/api/public/health"
PROJECTS_PATH = "/api/public/projects"
INGESTION_VERSION = "4"  # selects Langfuse's real-time OTLP ingestion path
SDK_NAME = "agents-hub-monitoring"

ENV_BASE_URL = "LANGFUSE_BASE_URL"
ENV_HOST = "LANGFUSE_HOST"
ENV_PUBLIC_KEY = "LANGFUSE_PUBLIC_KEY"
ENV_SECRET_KEY = "LANGFUSE_SECRET_KEY"
ENV_RELEASE = "LANGFUSE_RELEASE"
ENV_ENVIRONMENT = "LANGFUSE_TRACING_ENVIRONMENT"
ENV_SAMPLE_RATE = "LANGFUSE_SAMPLE_RATE"

# Langfuse's environment rule; anything else is stored as "default" for spans and rejected (400)
# for scores. An argument breaking it is a ValueError (the caller's bug); a variable breaking it is
# normalised as the server does, with a warning, because deployment settings must not stop the app.
_ENVIRONMENT = re.compile(r"(?!langfuse)[a-z0-9_-]{1,40}")
DEFAULT_ENVIRONMENT = "default"
_KEY_PREFIXES = ("pk-lf-", "sk-lf-")
_MIN_CHARS_TO_SHOW_TAIL = 16  # short keys (tests, typos) would be given away by their last chars


def mask_secret(value: str | None) -> str:
    """``sk-lf-...abcd`` for a real key; the prefix alone when the key is too short to hint at."""
    if not value:
        return "<not set>"
    prefix = next((p for p in _KEY_PREFIXES if value.startswith(p)), "")
    rest = value[len(prefix):]
    tail = rest[-4:] if len(rest) >= _MIN_CHARS_TO_SHOW_TAIL else ""
    return f"{prefix}...{tail}"


def display_host(url: str) -> str:
    """The host URL without any ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _pick(argument: str | None, *names: str) -> tuple[str | None, str]:
    if argument is not None and str(argument).strip():
        return str(argument).strip(), "argument"
    for name in names:
        value = _env(name)
        if value is not None:
            return value, name
    return None, "default"


def _sample_rate(argument: float | str | None) -> float | None:
    source = "sample_rate" if argument is not None else ENV_SAMPLE_RATE
    raw = argument if argument is not None else _env(ENV_SAMPLE_RATE)
    if raw is None:
        return None
    try:
        rate = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{source} must be a number between 0 and 1, got {raw!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{source} must be between 0 and 1, got {rate!r}")
    return rate


def _environment(argument: str | None) -> str | None:
    value, source = _pick(argument, ENV_ENVIRONMENT)
    if value is None:
        return None
    normalised = value.lower()
    if _ENVIRONMENT.fullmatch(normalised):
        return normalised
    rule = "1-40 characters of a-z, 0-9, '-' or '_', not starting with 'langfuse'"
    if source == "argument":
        raise ValueError(f"environment must be {rule}, got {value!r}")
    internal_logger.warning("langfuse:environment", "agents_hub_monitoring: %s=%r is not a valid Langfuse "
                            "environment (%s); using %r, as Langfuse would", source, value, rule, DEFAULT_ENVIRONMENT)
    return DEFAULT_ENVIRONMENT


@dataclass(frozen=True)
class LangfuseSettings:
    """Where and as whom to talk to Langfuse. ``repr`` shows the keys masked, never in full."""

    public_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    host: str = DEFAULT_HOST
    release: str | None = None
    environment: str | None = None
    sample_rate: float | None = None
    host_source: str = "default"

    @classmethod
    def resolve(cls, public_key: str | None = None, secret_key: str | None = None, host: str | None = None,
                release: str | None = None, environment: str | None = None,
                sample_rate: float | str | None = None, *, require_keys: bool = True) -> LangfuseSettings:
        """Arguments over ``LANGFUSE_*``; ``ValueError`` naming the variables when keys are missing."""
        resolved_host, host_source = _pick(host, ENV_BASE_URL, ENV_HOST)
        resolved_host = (resolved_host or DEFAULT_HOST).rstrip("/")
        parts = urlsplit(resolved_host)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"the Langfuse host (from {host_source}) must be an http(s) URL such as "
                             f"{DEFAULT_HOST}, got {display_host(resolved_host)!r}")
        settings = cls(public_key=_pick(public_key, ENV_PUBLIC_KEY)[0], secret_key=_pick(secret_key, ENV_SECRET_KEY)[0],
                       host=resolved_host, release=_pick(release, ENV_RELEASE)[0],
                       environment=_environment(environment), sample_rate=_sample_rate(sample_rate),
                       host_source=host_source)
        if require_keys and settings.missing_keys():
            raise ValueError(
                "Langfuse API keys are missing: pass public_key= and secret_key=, or set LANGFUSE_PUBLIC_KEY "
                f"and LANGFUSE_SECRET_KEY (not set: {', '.join(settings.missing_keys())})")
        return settings

    def missing_keys(self) -> list[str]:
        return [name for name, value in ((ENV_PUBLIC_KEY, self.public_key), (ENV_SECRET_KEY, self.secret_key))
                if not value]

    @property
    def display_host(self) -> str:
        return display_host(self.host)

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value (Basic, as every Langfuse public route expects)."""
        token = base64.b64encode(f"{self.public_key or ''}:{self.secret_key or ''}".encode()).decode()
        return f"Basic {token}"

    def url(self, path: str) -> str:
        return f"{self.host}{path}"

    def otlp_headers(self) -> dict[str, str]:
        """Headers for ``POST /api/public/otel/v1/traces`` per the contract."""
        return {"authorization": self.authorization, "x-langfuse-ingestion-version": INGESTION_VERSION,
                "x-langfuse-sdk-name": SDK_NAME, "x-langfuse-sdk-version": __version__,
                "x-langfuse-public-key": self.public_key or ""}

    def __repr__(self) -> str:
        return (f"LangfuseSettings(host={self.display_host!r}, public_key={mask_secret(self.public_key)!r}, "
                f"secret_key={mask_secret(self.secret_key)!r}, release={self.release!r}, "
                f"environment={self.environment!r}, sample_rate={self.sample_rate!r})")
