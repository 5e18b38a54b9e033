"""Chat messages in the GenAI semantic-conventions shape.

``gen_ai.input.messages`` / ``gen_ai.output.messages`` hold JSON lists of
``{"role": ..., "parts": [...]}``. Callers hand us OpenAI-style dicts, Anthropic-style content
blocks, OpenAI Responses API items, plain strings or objects; this turns any of them into that
shape without raising.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agents_hub_monitoring.serialization import to_jsonable

__all__ = ["to_semconv_messages", "to_semconv_parts"]

# Responses API items that stand alone in an input list (no "role"): the role they play.
_ITEM_ROLES = {"function_call": "assistant", "reasoning": "assistant", "function_call_output": "tool"}


def to_semconv_messages(messages: Any, default_role: str = "user") -> list[dict[str, Any]]:
    """Normalise ``messages`` (a list of messages, one message, or text) to semconv messages."""
    if messages is None:
        return []
    if isinstance(messages, (str, Mapping)) or not isinstance(messages, (list, tuple)):
        messages = [messages]
    return [_message(message, default_role) for message in messages]


def to_semconv_parts(content: Any) -> list[dict[str, Any]]:
    """Parts for content alone (system instructions): text, a list of blocks, or anything else."""
    return _content_parts(content)


def _message(message: Any, default_role: str) -> dict[str, Any]:
    if isinstance(message, str):
        return {"role": default_role, "parts": [_text(message)]}
    if not isinstance(message, Mapping):
        message = to_jsonable(message)
        if not isinstance(message, Mapping):
            return {"role": default_role, "parts": [_text(str(message))]}
    if not message.get("role") and message.get("type") in _ITEM_ROLES:
        return {"role": _ITEM_ROLES[message["type"]], "parts": [_block(message)]}
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
    """One Anthropic/OpenAI content block or Responses API item."""
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
    if kind == "function_call":
        return {"type": "tool_call", "id": block.get("call_id") or block.get("id"), "name": block.get("name"),
                "arguments": _arguments(block.get("arguments"))}
    if kind == "tool_result":
        return {"type": "tool_call_response", "id": block.get("tool_use_id"),
                "response": _plain(block.get("content"))}
    if kind == "function_call_output":
        return {"type": "tool_call_response", "id": block.get("call_id"), "response": _plain(block.get("output"))}
    if kind in ("thinking", "reasoning"):
        return {"type": "reasoning", "content": _reasoning_text(block)}
    return {"type": str(kind or "unknown"), "content": block}


def _reasoning_text(block: Mapping[str, Any]) -> str:
    if isinstance(block.get("thinking"), str):  # Anthropic thinking block
        return str(block["thinking"])
    summary = block.get("summary") or ()  # Responses API reasoning item: only its summary is visible
    return "\n".join(str(s.get("text", "")) for s in summary if isinstance(s, Mapping))


def _tool_call(call: Any) -> dict[str, Any]:
    call = to_jsonable(call)
    if not isinstance(call, Mapping):
        return {"type": "tool_call", "arguments": call}
    function = call.get("function") or {}
    return {"type": "tool_call", "id": call.get("id"), "name": function.get("name", call.get("name")),
            "arguments": _arguments(function.get("arguments", call.get("arguments")))}


def _arguments(arguments: Any) -> Any:
    """OpenAI sends tool arguments as a JSON string; the conventions want the object when there is one."""
    if isinstance(arguments, str):
        try:
            decoded = json.loads(arguments)
        except ValueError:
            return arguments
        return decoded if isinstance(decoded, (dict, list)) else arguments
    return arguments


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def _plain(content: Any) -> Any:
    return content if isinstance(content, str) else to_jsonable(content)
