"""Provider names: whatever callers pass (OTel names, aliases, SDK or framework class names)
mapped to the OTel GenAI ``gen_ai.provider.name``, and from there to genai-prices' provider ids."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["GENAI_PRICES_IDS", "normalize_provider"]

# fmt: off
# Compact spelling (lower case, alphanumerics only) -> OTel GenAI `gen_ai.provider.name`.
_ALIASES = {
    "openai": "openai", "anthropic": "anthropic", "claude": "anthropic",
    "awsbedrock": "aws.bedrock", "bedrock": "aws.bedrock", "amazonbedrock": "aws.bedrock",
    "anthropicbedrock": "aws.bedrock", "azureaiopenai": "azure.ai.openai", "azureopenai": "azure.ai.openai",
    "azure": "azure.ai.openai", "azureaiinference": "azure.ai.inference", "gcpgemini": "gcp.gemini",
    "gemini": "gcp.gemini", "google": "gcp.gemini", "googlegenai": "gcp.gemini", "gcpgenai": "gcp.gen_ai",
    "gcpvertexai": "gcp.vertex_ai", "vertexai": "gcp.vertex_ai", "vertex": "gcp.vertex_ai",
    "anthropicvertex": "gcp.vertex_ai", "mistralai": "mistral_ai", "mistral": "mistral_ai",
    "xai": "x_ai", "grok": "x_ai", "deepseek": "deepseek", "groq": "groq", "cohere": "cohere",
    "perplexity": "perplexity",
}
# OTel provider name -> genai-prices provider id; other names are passed through unchanged,
# since genai-prices also matches provider ids loosely (e.g. anything containing "openai").
GENAI_PRICES_IDS = {
    "aws.bedrock": "aws", "azure.ai.openai": "azure", "azure.ai.inference": "azure",
    "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
    "mistral_ai": "mistral", "x_ai": "x-ai",
}
# fmt: on
# Framework class names decorate the provider: OpenAIProvider, AsyncAnthropic, ChatOpenAI, ...
_DECORATION = re.compile(r"^(?:async|chat)|(?:provider|client|chatmodel|llm)$")


@lru_cache(maxsize=256)
def normalize_provider(name: str | None) -> str | None:
    """The OTel GenAI provider name for an OTel name, an alias or a class name; None if blank."""
    if not name or not name.strip():
        return None
    compact = re.sub(r"[^a-z0-9]", "", name.lower())
    for candidate in (compact, _DECORATION.sub("", compact)):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    # Unknown: keep an id-looking name as it is; drop only a Provider/Client suffix from a class
    # name ("llm" is part of names like LiteLLM or vLLM).
    if re.search(r"[._\-/ ]", name.strip()):
        return name.strip().lower()
    return re.sub(r"(?:provider|client)$", "", compact) or compact
