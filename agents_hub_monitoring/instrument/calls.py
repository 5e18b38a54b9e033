"""The wrappers: one per call shape, each as lean as the shape allows.

Per call, a sync or async function pays for: looking up the monitor, starting the span and its
handle, ``attach``/``detach``, calling the function, and ending the handle (metrics are queued,
see ``deferred``). Argument binding and serialisation happen only when content is captured.

A result that is still running when the function returns keeps the span open until it is done:
an awaitable (coroutine, future, any ``__await__``), a generator or async generator, and, for
``llm`` (or ``stream=True``), any iterator or async iterator of chunks.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.context import attach, detach
from opentelemetry.trace import set_span_in_context

from agents_hub_monitoring._safety import report_internal_failure
from agents_hub_monitoring.instrument.iteration import StreamState, open_stream
from agents_hub_monitoring.instrument.iterators import TracedAsyncIterator, TracedIterator
from agents_hub_monitoring.instrument.spans import DEFAULT, begin, end_closed, fail, finish
from agents_hub_monitoring.monitors.handles import current_agent_name

if TYPE_CHECKING:
    from agents_hub_monitoring.instrument.plan import Plan
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["wrap_function"]

# Results that are certainly finished when returned: one set lookup instead of the checks below.
_DONE_TYPES = frozenset({type(None), str, int, float, bool, bytes, dict, list, tuple, set, frozenset})


def wrap_function(function: Callable[..., Any], plan: Plan, monitor: BaseMonitor | None) -> Callable[..., Any]:
    """The wrapper for ``function``'s shape; ``monitor`` None means the default monitor, at call time."""
    if inspect.isasyncgenfunction(function):
        wrapper = _async_generator_wrapper(function, plan, monitor)
    elif inspect.isgeneratorfunction(function):
        wrapper = _generator_wrapper(function, plan, monitor)
    elif inspect.iscoroutinefunction(function):
        wrapper = _async_wrapper(function, plan, monitor)
    else:
        wrapper = _sync_wrapper(function, plan, monitor)
    try:
        functools.update_wrapper(wrapper, function)
    except (AttributeError, TypeError):  # callables without __name__ and friends
        wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    wrapper.__agents_hub_plan__ = plan  # type: ignore[attr-defined]
    return wrapper


def _sync_wrapper(function: Callable[..., Any], plan: Plan, fixed: BaseMonitor | None) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        if monitor is None:
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
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        if monitor is None:
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


def _generator_wrapper(function: Callable[..., Any], plan: Plan, fixed: BaseMonitor | None) -> Callable[..., Any]:
    # A generator function itself, so inspect.isgeneratorfunction() still holds for the wrapper.
    # The span starts when iteration starts, under the span current at that moment.
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        source = None if monitor is None else open_stream(plan, monitor, function, args, kwargs, TracedIterator)
        if source is None:
            source = function(*args, **kwargs)
        return (yield from source)

    return wrapper


def _async_generator_wrapper(function: Callable[..., Any], plan: Plan, fixed: BaseMonitor | None
                             ) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        monitor = fixed if fixed is not None else DEFAULT.monitor
        source = None if monitor is None else open_stream(plan, monitor, function, args, kwargs, TracedAsyncIterator)
        if source is None:
            source = function(*args, **kwargs)
        # ``yield from`` for async generators: forwards asend/athrow/aclose (PEP 525 semantics).
        step = source.asend(None)
        while True:
            try:
                item = await step
            except StopAsyncIteration:
                return
            try:
                sent = yield item
            except GeneratorExit:
                await source.aclose()
                raise
            except BaseException as error:
                step = source.athrow(error)
            else:
                step = source.asend(sent)

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
    """End the span now, or, for a result still running, hand back its traced equivalent."""
    try:
        running = _still_running(plan, result, awaited)
    except Exception as error:  # an object whose type checks raise
        report_internal_failure("decorated call result", error)
        running = False
    if not running:
        finish(plan, monitor, handle, result)
        return result
    return _continue(plan, monitor, handle, result)


def _still_running(plan: Plan, result: Any, awaited: bool) -> bool:
    if not awaited and inspect.isawaitable(result):
        return True
    if plan.stream is False:
        return False
    if isinstance(result, (types.GeneratorType, types.AsyncGeneratorType)):
        return True
    if plan.stream or plan.kind == "llm":
        cls = type(result)
        return hasattr(cls, "__anext__") or hasattr(cls, "__next__")
    return False


def _continue(plan: Plan, monitor: BaseMonitor, handle: Any, result: Any) -> Any:
    """Keep the span open until ``result`` is done; hand back something equivalent to it."""
    try:
        if asyncio.isfuture(result):  # the same future, so its API stays (add_done_callback, result)
            result.add_done_callback(functools.partial(_settle_future, plan, monitor, handle))
            return result
        if inspect.isawaitable(result):
            coroutine = _await_in_span(plan, monitor, handle, result)
            weakref.finalize(coroutine, end_closed, handle)  # never awaited: the span still ends
            return coroutine
        proxy = TracedAsyncIterator if hasattr(type(result), "__anext__") else TracedIterator
        return proxy(result, StreamState(plan, monitor, handle))
    except Exception as error:
        report_internal_failure("decorated call continuation", error)
        finish(plan, monitor, handle, None)
        return result


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
    finish(plan, monitor, handle, result)
    return result


def _settle_future(plan: Plan, monitor: BaseMonitor, handle: Any, future: Any) -> None:
    if future.cancelled():
        fail(handle, asyncio.CancelledError())
    elif future.exception() is not None:
        fail(handle, future.exception())
    else:
        finish(plan, monitor, handle, future.result())
