"""Traced streams: the iterator or async iterator of chunks an ``llm`` (or ``stream=True``) function returns.

A transparent proxy: attributes, ``with`` / ``async with`` and ``close`` reach the stream object
(an OpenAI ``Stream``'s ``.response``, say). The span covers the iteration, like a generator's
(see ``iteration``): each step runs under our span laid on top of the consumer's context, and the
span ends when the stream is exhausted, fails, is closed, is garbage-collected or is cancelled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from agents_hub_monitoring.instrument.iteration import StreamState, step

__all__ = ["TracedAsyncIterator", "TracedIterator"]

_OWN = frozenset({"_inner", "_state"})


def _raiser(*exc: Any) -> Any:
    """``throw()`` for iterators without one: the exception surfaces at the consumer's next step."""
    error = exc[0]
    if isinstance(error, BaseException):
        raise error
    raise error(*exc[1:2]) if len(exc) > 1 and exc[1] is not None else error()


class _Proxy:
    """Attribute access, ``with`` and finalisation shared by both traced iterators."""

    __slots__ = ("__weakref__", "_inner", "_state")

    def __init__(self, inner: Any, state: StreamState) -> None:
        self._inner = inner
        self._state = state

    def __getattr__(self, name: str) -> Any:
        if name in _OWN:
            raise AttributeError(name)
        return getattr(self._inner, name)  # e.g. an OpenAI Stream's .response

    def __repr__(self) -> str:
        return f"<traced {self._inner!r}>"

    def _ended_by(self, error: BaseException, exhausted: type[BaseException]) -> None:
        # Running out is the iteration's success; any other exception (cancellation too) fails it.
        if isinstance(error, exhausted):
            self._state.succeed()
        else:
            self._state.fail(error)


class TracedIterator(_Proxy):
    """A traced iterator (an LLM stream); supports ``send``/``throw``/``close`` like a generator."""

    __slots__ = ()

    def __iter__(self) -> TracedIterator:
        return self

    def _advance(self, method: Callable[..., Any], *args: Any) -> Any:
        state = self._state
        overlay = state.overlay
        entered = overlay.enter()
        try:
            item = method(*args)
        except BaseException as error:
            overlay.leave(entered)
            self._ended_by(error, StopIteration)
            raise
        overlay.leave(entered)
        state.on_item(item)
        return item

    def __next__(self) -> Any:
        return self._advance(self._inner.__next__)

    def send(self, value: Any) -> Any:
        send = getattr(self._inner, "send", None)
        return self._advance(send, value) if send is not None else self._advance(self._inner.__next__)

    def throw(self, *exc: Any) -> Any:
        return self._advance(getattr(self._inner, "throw", None) or _raiser, *exc)

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            step(self._state, close)
        self._state.close()

    def __enter__(self) -> TracedIterator:
        enter = getattr(self._inner, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, *exc: Any) -> Any:
        exit_ = getattr(self._inner, "__exit__", None)
        try:
            return exit_(*exc) if exit_ is not None else None
        finally:
            self._state.close()

    def __del__(self) -> None:
        with contextlib.suppress(BaseException):  # a finaliser must not raise, whatever the stream does
            if not self._state.done:
                self.close()


class TracedAsyncIterator(_Proxy):
    """A traced async iterator (an LLM stream); supports ``asend``/``athrow``/``aclose``."""

    __slots__ = ()

    def __aiter__(self) -> TracedAsyncIterator:
        return self

    async def _advance(self, method: Callable[..., Any], *args: Any) -> Any:
        state = self._state
        overlay = state.overlay
        entered = overlay.enter()
        try:
            item = await method(*args)  # a native await: any awaitable an __anext__ returns works
        except BaseException as error:
            overlay.leave(entered)
            self._ended_by(error, StopAsyncIteration)
            raise
        overlay.leave(entered)
        state.on_item(item)
        return item

    def __anext__(self) -> Any:
        return self._advance(self._inner.__anext__)

    def asend(self, value: Any) -> Any:
        asend = getattr(self._inner, "asend", None)
        return self._advance(asend, value) if asend is not None else self._advance(self._inner.__anext__)

    def athrow(self, *exc: Any) -> Any:
        athrow = getattr(self._inner, "athrow", None)
        return self._advance(athrow, *exc) if athrow is not None else self._advance(_async_raiser, *exc)

    async def aclose(self) -> None:
        state = self._state
        close = getattr(self._inner, "aclose", None) or getattr(self._inner, "close", None)
        if close is not None:
            entered = state.overlay.enter()
            try:
                result = close()
                if hasattr(result, "__await__"):
                    await result
            except BaseException as error:
                state.overlay.leave(entered)
                state.fail(error)
                raise
            state.overlay.leave(entered)
        state.close()

    close = aclose  # OpenAI's AsyncStream spells it close()

    async def __aenter__(self) -> TracedAsyncIterator:
        enter = getattr(self._inner, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        exit_ = getattr(self._inner, "__aexit__", None)
        try:
            return await exit_(*exc) if exit_ is not None else None
        finally:
            self._state.close()

    def __del__(self) -> None:
        # No awaiting here: the span ends; the event loop's asyncgen hooks close the generator.
        with contextlib.suppress(BaseException):
            self._state.close()


async def _async_raiser(*exc: Any) -> Any:
    return _raiser(*exc)
