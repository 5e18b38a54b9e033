"""The wrappers: one per call shape, each as lean as the shape allows.

Per call, a sync or async function pays for: looking up the monitor, starting the span and its
handle, ``attach``/``detach``, calling the function, and ending the handle (metrics are queued,
see ``deferred``). Argument binding and serialisation happen only when content is captured. With
no monitor, or a shut-down one, the call goes straight through.

The wrapper returns what the function returns, of the same type. The span stays open past the
return only for: a coroutine (handed back wrapped in a coroutine that ends the span when it
completes), an asyncio future (the same object; ends on completion), and, for ``llm`` (or
``stream=True``), an iterator or async iterator of chunks (a transparent proxy). Any other lazy
result (a generator object, a query set with ``__await__``) ends the span at return and is
handed back untouched; its content is not recorded, since ``repr`` of it could run it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry.context import attach, detach
from opentelemetry.trace import set_span_in_context

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.iteration import StreamState, async_generator_wrapper, generator_wrapper
from agents_hub_monitoring.instrument.iterators import TracedAsyncIterator, TracedIterator
from agents_hub_monitoring.instrument.spans import DEFAULT, begin, end_closed, fail, finish, reentrant
from agents_hub_monitoring.monitors.handles import current_agent_name

if TYPE_CHECKING:
    from agents_hub_monitoring.instrument.plan import Plan
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["MARKER", "Marker", "wrap_function"]

MARKER = "__agents_hub_marker__"
# Results that are certainly finished when returned: one set lookup instead of the checks below.
_DONE_TYPES = frozenset({type(None), str, int, float, bool, bytes, dict, list, tuple, set, frozenset})
_LAZY_TYPES = (types.GeneratorType, types.AsyncGeneratorType)


class Marker(NamedTuple):
    """On every wrapper: who wrapped what, so decorating it again is recognised (see decorators)."""

    monitor: BaseMonitor | None
    kind: str
    function: Callable[..., Any]


def wrap_function(function: Callable[..., Any], plan: Plan, monitor: BaseMonitor | None) -> Callable[..., Any]:
    """The wrapper for ``function``'s shape; ``monitor`` None means the default monitor, at call time."""
    if inspect.isasyncgenfunction(function):
        wrapper = async_generator_wrapper(function, plan, monitor)
    elif inspect.isgeneratorfunction(function):
        wrapper = generator_wrapper(function, plan, monitor)
    elif inspect.iscoroutinefunction(function):
        wrapper = _async_wrapper(function, plan, monitor)
    else:
        wrapper = _sync_wrapper(function, plan, monitor)
    try:
        functools.update_wrapper(wrapper, function)
    except (AttributeError, TypeError):  # callables without __name__ and friends
        wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    setattr(wrapper, MARKER, Marker(monitor, plan.kind, function))
    return wrapper


def _sync_wrapper(function: Callable[..., Any], plan: Plan, fixed: BaseMonitor | None) -> Callable[..., Any]:
    guarded = plan.guarded

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        if monitor is None or monitor._closed or (guarded and reentrant(monitor, args)):
            return function(*args, **kwargs)
        try:
            handle, token, agent_token = begin(plan, monitor, args, kwargs)
        except Exception as error:
            report_internal_failure("decorated call start", error)
            return function(*args, **kwargs)
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            detach(token)
            if agent_token is not None:
                current_agent_name.reset(agent_token)
            fail(handle, error)
            raise
        detach(token)
        if agent_token is not None:
            current_agent_name.reset(agent_token)
        if type(result) in _DONE_TYPES:
            finish(plan, monitor, handle, result)
            return result
        return _complete(plan, monitor, handle, result, awaited=False)

    return wrapper


def _async_wrapper(function: Callable[..., Any], plan: Plan, fixed: BaseMonitor | None) -> Callable[..., Any]:
    guarded = plan.guarded

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        if monitor is None or monitor._closed or (guarded and reentrant(monitor, args)):
            return await function(*args, **kwargs)
        try:
            handle, token, agent_token = begin(plan, monitor, args, kwargs)
        except Exception as error:
            report_internal_failure("decorated call start", error)
            return await function(*args, **kwargs)
        try:
            result = await function(*args, **kwargs)
        except BaseException as error:  # cancellation included: recorded as "cancelled", re-raised
            _leave(token, agent_token)
            fail(handle, error)
            raise
        _leave(token, agent_token)
        if type(result) in _DONE_TYPES:
            finish(plan, monitor, handle, result)
            return result
        return _complete(plan, monitor, handle, result, awaited=True)

    return wrapper


def _leave(token: object, agent_token: Any) -> None:
    # A coroutine is normally resumed in the context it started in; if someone drives it from
    # another one, the reset fails (detach already logs and carries on): never the caller's problem.
    detach(token)
    if agent_token is not None:
        try:
            current_agent_name.reset(agent_token)
        except ValueError:
            return


def _complete(plan: Plan, monitor: BaseMonitor, handle: Any, result: Any, *, awaited: bool) -> Any:
    """End the span now (handing ``result`` back untouched), or hand back its traced equivalent."""
    try:
        if not awaited and (inspect.iscoroutine(result) or asyncio.isfuture(result)):
            return _follow(plan, monitor, handle, result)
        if plan.stream is not False and (plan.stream or plan.kind == "llm"):
            cls = type(result)
            if hasattr(cls, "__anext__") or hasattr(cls, "__next__"):
                proxy = TracedAsyncIterator if hasattr(cls, "__anext__") else TracedIterator
                return proxy(result, StreamState(plan, monitor, handle))
        lazy = isinstance(result, _LAZY_TYPES) or inspect.isawaitable(result)
    except Exception as error:  # an object whose type checks raise
        report_internal_failure("decorated call result", error)
        lazy = True
    finish(plan, monitor, handle, None if lazy else result)
    return result


def _follow(plan: Plan, monitor: BaseMonitor, handle: Any, result: Any) -> Any:
    """A coroutine or a future: keep the span open until it is done."""
    if asyncio.isfuture(result):  # the same future, so its API stays (add_done_callback, result)
        result.add_done_callback(functools.partial(_settle_future, plan, monitor, handle))
        return result
    coroutine = _await_in_span(plan, monitor, handle, result)
    weakref.finalize(coroutine, end_closed, handle)  # never awaited: the span still ends
    return coroutine


async def _await_in_span(plan: Plan, monitor: BaseMonitor, handle: Any, awaitable: Any) -> Any:
    token = attach(set_span_in_context(handle.span))
    agent_token = current_agent_name.set(plan.agent_name) if plan.agent_name is not None else None
    try:
        result = await awaitable
    except BaseException as error:
        _leave(token, agent_token)
        fail(handle, error)
        raise
    _leave(token, agent_token)
    if type(result) in _DONE_TYPES:
        finish(plan, monitor, handle, result)
        return result
    return _complete(plan, monitor, handle, result, awaited=True)  # e.g. an LLM stream, once awaited


def _settle_future(plan: Plan, monitor: BaseMonitor, handle: Any, future: Any) -> None:
    if future.cancelled():
        fail(handle, asyncio.CancelledError())
    elif future.exception() is not None:
        fail(handle, future.exception())
    else:
        finish(plan, monitor, handle, future.result())
