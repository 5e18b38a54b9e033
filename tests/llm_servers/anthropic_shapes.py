"""Anthropic Messages API wire bodies in the shapes the real API returns.

A message with ``usage`` including cache reads and writes (and the thinking-token breakdown when
extended thinking is on), the streamed ``message_start`` / ``content_block_*`` / ``message_delta``
/ ``message_stop`` events with a ``ping`` among them, and the ``{"type": "error", ...}`` envelope.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MESSAGE_TEXT", "THINKING_TEXT", "TOOL_INPUT", "anthropic_error", "message", "message_events"]

MESSAGE_TEXT = "Hello! How can I help you today?"
THINKING_TEXT = "The user greets me; answer briefly."
TOOL_INPUT = {"location": "Paris, France"}
MESSAGE_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"


def _usage(body: dict[str, Any], *, final: bool = True) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": 21, "cache_creation_input_tokens": 188, "cache_read_input_tokens": 2048,
        "cache_creation": {"ephemeral_5m_input_tokens": 188, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 96 if final else 1, "service_tier": "standard",
    }
    if body.get("thinking") and final:
        usage["output_tokens_details"] = {"thinking_tokens": 64}
    return usage


def _tool(body: dict[str, Any]) -> str | None:
    tools = body.get("tools") or []
    return str(tools[0].get("name") or "tool") if tools else None


def _content(body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if body.get("thinking"):
        blocks.append({"type": "thinking", "thinking": THINKING_TEXT, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA"})
    tool = _tool(body)
    if tool:
        blocks.append({"type": "text", "text": "I'll check the weather in Paris."})
        blocks.append({"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": tool, "input": TOOL_INPUT})
    else:
        blocks.append({"type": "text", "text": MESSAGE_TEXT})
    return blocks


def message(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": MESSAGE_ID, "type": "message", "role": "assistant", "model": str(body.get("model")),
        "content": _content(body), "stop_reason": "tool_use" if _tool(body) else "end_turn",
        "stop_sequence": None, "usage": _usage(body),
    }


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        start, deltas = {"type": "text", "text": ""}, [{"type": "text_delta", "text": piece}
                                                       for piece in _pieces(block["text"])]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in _pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start = {**block, "input": {}}
        arguments = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [{"type": "input_json_delta", "partial_json": piece}
                   for piece in (arguments[:12], arguments[12:])]
    return ([{"type": "content_block_start", "index": index, "content_block": start}]
            + [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
            + [{"type": "content_block_stop", "index": index}])


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


def message_events(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of a streamed message: (event name, data)."""
    final = message(body)
    start = {**final, "content": [], "stop_reason": None, "usage": _usage(body, final=False)}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(final["content"]):
        events += _block_events(index, block)
    usage = {key: final["usage"][key] for key in ("input_tokens", "cache_creation_input_tokens",
                                                  "cache_read_input_tokens", "output_tokens")}
    if "output_tokens_details" in final["usage"]:
        usage["output_tokens_details"] = final["usage"]["output_tokens_details"]
    events.append({"type": "message_delta", "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
                   "usage": usage})
    events.append({"type": "message_stop"})
    return [(event["type"], event) for event in events]


def anthropic_error(status: int) -> dict[str, Any]:
    """The error envelope Anthropic sends with a 4xx/5xx."""
    kinds = {
        400: ("invalid_request_error", "messages: at least one message is required"),
        429: ("rate_limit_error", "This request would exceed the rate limit for your organization of 50 input "
                                  "tokens per minute."),
        529: ("overloaded_error", "Overloaded"),
    }
    kind, text = kinds.get(status, ("api_error", "Internal server error"))
    return {"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}
