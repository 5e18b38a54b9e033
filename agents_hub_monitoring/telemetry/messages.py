"""Chat messages in the GenAI semantic-conventions shape.

``gen_ai.input.messages`` / ``gen_ai.output.messages`` hold JSON lists of
``{"role": ..., "parts": [...]}``. Callers hand us OpenAI-style dicts, Anthropic-style content
blocks, plain strings or objects; this turns any of them into that shape without raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents_hub_monitoring.serialization import to_jsonable

__all__ = ["to_semconv_messages"]


def to_semconv_messages(messages: Any, default_role: str = "user") -> list[dict[str, Any]]:
    """Normalise ``messages`` (a list of messages, one message, or text) to semconv messages."""
    if messages is None:
        return []
    if isinstance(messages, (str, Mapping)) or not isinstance(messages, (list, tuple)):
        messages = [messages]
    return [_message(message, default_role) for message in messages]


def _message(message: Any, default_role: str) -> dict[str, Any]:
    if isinstance(message, str):
        return {"role": default_role, "parts": [_text(message)]}
    if not isinstance(message, Mapping):
        message = to_jsonable(message)
        if not isinstance(message, Mapping):
            return {"role": default_role, "parts": [_text(str(message))]}
    role = str(message.get("role") or default_role)
    parts = _content_parts(message.get("content"))
    for call in message.get("tool_calls") or ():
        parts.append(_tool_call(call))
    if role == "tool":
        parts = [{"type": "tool_call_response", "id": message.get("tool_call_id"),
                  "response": _plain(message.get("content"))}]
    result: dict[str, Any] = {"role": role, "parts": parts}
    if message.get("finish_reason"):
        result["finish_reason"] = message["finish_reason"]
    return result


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text(content)]
    if isinstance(content, (list, tuple)):
        return [_block(block) for block in content]
    return [_text(str(to_jsonable(content)))]


def _block(block: Any) -> dict[str, Any]:
    """One Anthropic/OpenAI content block."""
    if isinstance(block, str):
        return _text(block)
    block = to_jsonable(block)
    if not isinstance(block, Mapping):
        return _text(str(block))
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text"):
        return _text(str(block.get("text", "")))
    if kind == "tool_use":
        return {"type": "tool_call", "id": block.get("id"), "name": block.get("name"),
                "arguments": block.get("input")}
    if kind == "tool_result":
        return {"type": "tool_call_response", "id": block.get("tool_use_id"),
                "response": _plain(block.get("content"))}
    return {"type": str(kind or "unknown"), "content": block}


def _tool_call(call: Any) -> dict[str, Any]:
    call = to_jsonable(call)
    if not isinstance(call, Mapping):
        return {"type": "tool_call", "arguments": call}
    function = call.get("function") or {}
    return {"type": "tool_call", "id": call.get("id"), "name": function.get("name", call.get("name")),
            "arguments": function.get("arguments", call.get("arguments"))}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def _plain(content: Any) -> Any:
    return content if isinstance(content, str) else to_jsonable(content)
