"""``monitor.instrument_openai()`` and friends: LLM SDK clients traced without code changes.

The SDKs are optional extras, imported only when their integration is switched on.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SdkIntegrationsMixin"]


class SdkIntegrationsMixin:
    """Methods on every monitor that patch (and restore) the OpenAI and Anthropic SDKs."""

    def instrument_openai(self, client: Any = None) -> None:
        """Trace every OpenAI client (or just ``client``): chat completions and responses."""
        from agents_hub_monitoring.instrument.openai import instrument_openai

        instrument_openai(self, client)  # type: ignore[arg-type]

    def uninstrument_openai(self, client: Any = None) -> None:
        from agents_hub_monitoring.instrument.openai import uninstrument_openai

        uninstrument_openai(client)

    def instrument_anthropic(self, client: Any = None) -> None:
        """Trace every Anthropic client (or just ``client``): messages, streamed or not."""
        from agents_hub_monitoring.instrument.anthropic import instrument_anthropic

        instrument_anthropic(self, client)  # type: ignore[arg-type]

    def uninstrument_anthropic(self, client: Any = None) -> None:
        from agents_hub_monitoring.instrument.anthropic import uninstrument_anthropic

        uninstrument_anthropic(client)
