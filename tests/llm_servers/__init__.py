"""A local stand-in for the OpenAI and Anthropic HTTP APIs (JSON and server-sent events)."""

from __future__ import annotations

from .server import FakeLLMServer, SeenRequest

__all__ = ["FakeLLMServer", "SeenRequest"]
