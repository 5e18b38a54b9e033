"""The handle of the LLM span that is current: how an instrumented SDK call reaches the call it is.

An SDK call made inside ``@monitor.llm`` or ``monitor.llm_call`` is that span's call, and only its
response knows the usage, response model and finish reasons. The SDK wrapper fills them in through
the span's handle, not the span: the handle prices the call and records its metrics, once, at its
end, and its setters overwrite, so filling it twice (from the SDK response, then from what the
decorated function returns) counts nothing twice. That holds for a sampled-out span too.

The handle is found from the current span, which every way of running the body already makes
current (``with``/``async with``, decorated functions, coroutines, each step of a decorated
generator): registering the handle once when its span starts is all it takes, no context value
is set and reset around the body, and spans of other kinds pay nothing. Entries are weak, so a
handle that is dropped without being ended leaves no entry behind.
"""

from __future__ import annotations

import functools
import weakref
from typing import TYPE_CHECKING

from opentelemetry.trace import INVALID_SPAN, get_current_span

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor
    from agents_hub_monitoring.monitors.operations import LLMCallHandle

__all__ = ["current_llm", "open_llm"]

# id(span) -> (weak reference to its handle, may an SDK call record the completion?). The handle
# holds its span, so while an entry's handle lives no other span can have its id.
_OPEN: dict[int, tuple[weakref.ref[LLMCallHandle], bool]] = {}


def _forget(key: int, ref: weakref.ref[LLMCallHandle]) -> None:
    entry = _OPEN.get(key)
    if entry is not None and entry[0] is ref:  # not an entry a newer span made under a reused id
        _OPEN.pop(key, None)


def open_llm(handle: LLMCallHandle, *, output: bool = True) -> None:
    """Make ``handle`` reachable while its span is current.

    ``output`` False (a decorator's ``capture_output=False``) keeps SDK calls from recording the
    completion on it; structure (usage, model, finish reasons) is recorded regardless.
    """
    span = handle.span
    if span is INVALID_SPAN:  # the stand-in every failed or after-shutdown start shares
        return
    key = id(span)
    _OPEN[key] = (weakref.ref(handle, functools.partial(_forget, key)), output)


def current_llm(monitor: BaseMonitor) -> tuple[LLMCallHandle, bool] | None:
    """The open handle of ``monitor``'s LLM span that is current, and whether its output may be set.

    None when the current span is not such a span (of another kind, of another monitor, ended).
    """
    span = get_current_span()
    entry = _OPEN.get(id(span))
    if entry is None:
        return None
    handle = entry[0]()
    if handle is None or handle.span is not span or handle._ended or handle._monitor is not monitor:
        return None
    return handle, entry[1]
