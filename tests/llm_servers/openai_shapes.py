"""OpenAI wire bodies in the shapes the real API returns (chat completions, responses, errors).

Field sets and event sequences follow recorded production responses (chat completion with
``usage.prompt_tokens_details``, chunk streams ending in a ``usage`` chunk when
``stream_options.include_usage`` is set, Responses API ``response.*`` server-sent events). Values
are fixed so that tests can assert them exactly.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CHAT_TEXT", "RESPONSE_TEXT", "chat_chunks", "chat_completion", "openai_error", "response",
    "response_events", "snapshot",
]

CHAT_TEXT = "Hello! How can I help you today?"
RESPONSE_TEXT = "Paris is the capital of France."
CREATED = 1730680118
WEATHER_ARGUMENTS = '{"location": "Paris, France"}'

_SNAPSHOTS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "o4-mini": "o4-mini-2025-04-16"}


def snapshot(model: Any) -> str:
    """The dated model name the API answers with for an alias."""
    return _SNAPSHOTS.get(str(model), str(model))


def _chat_usage() -> dict[str, Any]:
    return {
        "prompt_tokens": 1187, "completion_tokens": 9, "total_tokens": 1196,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _tool_call(name: str) -> dict[str, Any]:
    return {"id": "call_6YvurIMPOgMo2q6V6KGJDA6g", "type": "function",
            "function": {"name": name, "arguments": WEATHER_ARGUMENTS}}


def _tool_name(body: dict[str, Any]) -> str | None:
    tools = body.get("tools") or []
    if not tools:
        return None
    tool = tools[0]
    return str((tool.get("function") or {}).get("name") or tool.get("name") or "tool")


def chat_completion(body: dict[str, Any]) -> dict[str, Any]:
    tool = _tool_name(body)
    message: dict[str, Any] = {"role": "assistant", "content": None if tool else CHAT_TEXT, "refusal": None,
                               "annotations": []}
    if tool:
        message["tool_calls"] = [_tool_call(tool)]
    return {
        "id": "chatcmpl-APfFOuWLsYvVpZYqENRo9rKnifNdD", "object": "chat.completion", "created": CREATED,
        "model": snapshot(body.get("model")),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if tool else "stop"}],
        "usage": _chat_usage(), "service_tier": "default", "system_fingerprint": "fp_0ba0d124f1",
    }


def chat_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of a streamed chat completion, in order (``[DONE]`` is added by the server)."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    tool = _tool_name(body)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": "chatcmpl-APfFPGn2c0eAKQyAvbJ6JDOz7zW7K", "object": "chat.completion.chunk", "created": CREATED,
            "model": snapshot(body.get("model")), "service_tier": "default", "system_fingerprint": "fp_0ba0d124f1",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            row["usage"] = None
        return row

    if tool:
        first = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
            {"index": 0, "id": "call_6YvurIMPOgMo2q6V6KGJDA6g", "type": "function",
             "function": {"name": tool, "arguments": ""}}]}
        pieces = [WEATHER_ARGUMENTS[:9], WEATHER_ARGUMENTS[9:20], WEATHER_ARGUMENTS[20:]]
        rows = [chunk(first)] + [chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                                 for piece in pieces]
        rows.append(chunk({}, "tool_calls"))
    else:
        rows = [chunk({"role": "assistant", "content": "", "refusal": None})]
        rows += [chunk({"content": piece}) for piece in ("Hello", "!", " How", " can", " I", " help",
                                                         " you", " today", "?")]
        rows.append(chunk({}, "stop"))
    if include_usage:
        final = chunk({})
        final["choices"] = []
        final["usage"] = _chat_usage()
        rows.append(final)
    return rows


def _response_usage() -> dict[str, Any]:
    return {"input_tokens": 1530, "input_tokens_details": {"cached_tokens": 1408}, "output_tokens": 220,
            "output_tokens_details": {"reasoning_tokens": 192}, "total_tokens": 1750}


def _response_output(body: dict[str, Any]) -> list[dict[str, Any]]:
    reasoning = {"id": "rs_68af4030592c81938ec0a5fbab4a3e9f", "type": "reasoning", "summary": []}
    tool = _tool_name(body)
    if tool:
        return [reasoning, {"id": "fc_68af4031b9e88193b3e1a1f7f3b7b6d4", "type": "function_call",
                            "status": "completed", "arguments": WEATHER_ARGUMENTS,
                            "call_id": "call_6YvurIMPOgMo2q6V6KGJDA6g", "name": tool}]
    return [reasoning, {"id": "msg_68af40337a7c8193a5e8b0b0d2b1a8e5", "type": "message", "status": "completed",
                        "content": [{"type": "output_text", "annotations": [], "logprobs": [],
                                     "text": RESPONSE_TEXT}], "role": "assistant"}]


def response(body: dict[str, Any], *, status: str = "completed") -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": "resp_68af402fd3f88193a1c2e4f1d6a7b8c9", "object": "response", "created_at": 1756315695,
        "status": status, "background": False, "completed_at": 1756315697 if done else None, "error": None,
        "incomplete_details": None, "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"), "max_tool_calls": None,
        "model": snapshot(body.get("model")), "output": _response_output(body) if done else [],
        "parallel_tool_calls": True, "previous_response_id": None, "prompt_cache_key": None,
        "reasoning": {"effort": "medium", "summary": None}, "safety_identifier": None, "service_tier": "default",
        "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": body.get("tools") or [], "top_logprobs": 0, "top_p": 1.0,
        "truncation": "disabled", "usage": _response_usage() if done else None, "user": None, "metadata": {},
    }


def response_events(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of a streamed response: (event name, data)."""
    final = response(body)
    reasoning, item = final["output"]
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response(body, status="in_progress")},
        {"type": "response.in_progress", "response": response(body, status="in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": reasoning},
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning},
    ]
    if item["type"] == "message":
        events.append({"type": "response.output_item.added", "output_index": 1,
                       "item": {**item, "status": "in_progress", "content": []}})
        events.append({"type": "response.content_part.added", "content_index": 0, "item_id": item["id"],
                       "output_index": 1, "part": {"type": "output_text", "annotations": [], "logprobs": [],
                                                   "text": ""}})
        for piece in ("Paris", " is", " the", " capital", " of", " France", "."):
            events.append({"type": "response.output_text.delta", "content_index": 0, "delta": piece,
                           "item_id": item["id"], "logprobs": [], "obfuscation": "A26ZUlif", "output_index": 1})
        events.append({"type": "response.output_text.done", "content_index": 0, "item_id": item["id"],
                       "logprobs": [], "output_index": 1, "text": RESPONSE_TEXT})
        events.append({"type": "response.content_part.done", "content_index": 0, "item_id": item["id"],
                       "output_index": 1, "part": item["content"][0]})
    else:
        events.append({"type": "response.output_item.added", "output_index": 1,
                       "item": {**item, "status": "in_progress", "arguments": ""}})
        events.append({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                       "output_index": 1, "delta": WEATHER_ARGUMENTS, "obfuscation": "x1"})
        events.append({"type": "response.function_call_arguments.done", "item_id": item["id"],
                       "output_index": 1, "arguments": WEATHER_ARGUMENTS})
    events.append({"type": "response.output_item.done", "output_index": 1, "item": item})
    events.append({"type": "response.completed", "response": final})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return [(event["type"], event) for event in events]


def openai_error(status: int) -> dict[str, Any]:
    """The error envelope OpenAI sends with a 4xx/5xx."""
    if status == 429:
        return {"error": {"message": "Rate limit reached for gpt-4o-mini in organization org-test on requests per "
                                     "min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
                          "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    if status == 404:
        return {"error": {"message": "The model `gpt-nope` does not exist or you do not have access to it.",
                          "type": "invalid_request_error", "param": None, "code": "model_not_found"}}
    return {"error": {"message": "The server had an error while processing your request. Sorry about that!",
                      "type": "server_error", "param": None, "code": None}}
