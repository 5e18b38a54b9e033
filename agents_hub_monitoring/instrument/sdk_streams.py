"""Transparent wrappers around the streams the LLM SDKs return, ending the call's span with them.

The proxy passes every chunk through unchanged and tells its call about it (first chunk, usage
and finish reasons accumulated from the chunks). The span ends when the stream is exhausted,
raises, is closed (``close()``, ``with``/``async with``, or the SDK's stream helpers closing it),
or is garbage-collected unfinished; a stream left before its end has outcome ``closed``.
``isinstance(proxy, openai.Stream)`` still holds, and any other attribute (``_iterator``...) is
the wrapped stream's own.

``response`` is the wrapped stream's HTTP response behind a thin proxy whose ``close()`` /
``aclose()`` also ends the span: OpenAI's ``.stream()`` helpers (``ChatCompletionStream``,
``ResponseStream``) close the response they took from the stream, never the stream itself.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

__all__ = ["AsyncStreamProxy", "StreamProxy"]


class _Observer(Protocol):
    def observe(self, item: Any) -> None: ...

    def end_stream(self, error: BaseException | None = None, *, closed: bool = False) -> None: ...


class _Transparent:
    """Looks like, and forwards everything to, the object in ``_agents_hub_target``."""

    __slots__ = ("__weakref__", "_agents_hub_call", "_agents_hub_target")

    def __init__(self, target: Any, call: _Observer) -> None:
        object.__setattr__(self, "_agents_hub_target", target)
        object.__setattr__(self, "_agents_hub_call", call)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() checks against the SDK's classes keep working
        return type(self._agents_hub_target)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_agents_hub_"):  # a slot not set yet (e.g. in __del__): no recursion
            raise AttributeError(name)
        return getattr(self._agents_hub_target, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._agents_hub_target, name, value)

    def __repr__(self) -> str:
        return repr(self._agents_hub_target)


class _ClosingResponse(_Transparent):
    """The stream's HTTP response; closing it (sync or async) ends the span, outcome ``closed``."""

    __slots__ = ()

    def close(self) -> None:
        try:
            self._agents_hub_target.close()
        finally:
            self._agents_hub_call.end_stream(closed=True)

    async def aclose(self) -> None:
        try:
            await self._agents_hub_target.aclose()
        finally:
            self._agents_hub_call.end_stream(closed=True)


class _ProxyBase(_Transparent):
    __slots__ = ("_agents_hub_response",)

    @property
    def response(self) -> Any:
        # One proxy per stream, so ``stream.response is stream.response`` still holds.
        try:
            return self._agents_hub_response
        except AttributeError:
            response = self._agents_hub_target.response
            if response is not None:
                response = _ClosingResponse(response, self._agents_hub_call)
            object.__setattr__(self, "_agents_hub_response", response)
            return response

    def _agents_hub_ended_by(self, error: BaseException, exhausted: type[BaseException]) -> None:
        # Running out is the normal end; anything else (cancellation too) ends the span with that error.
        if isinstance(error, exhausted):
            self._agents_hub_call.end_stream()
        else:
            self._agents_hub_call.end_stream(error)

    def __del__(self) -> None:
        # Dropped without being finished or closed: end the span with what arrived so far.
        with contextlib.suppress(Exception):
            self._agents_hub_call.end_stream(closed=True)


class StreamProxy(_ProxyBase):
    """Wraps a sync stream (``openai.Stream``, ``anthropic.Stream``)."""

    __slots__ = ()

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            item = self._agents_hub_target.__next__()
        except BaseException as error:
            self._agents_hub_ended_by(error, StopIteration)
            raise
        self._agents_hub_call.observe(item)
        return item

    def close(self) -> None:
        try:
            self._agents_hub_target.close()
        finally:
            self._agents_hub_call.end_stream(closed=True)

    def __enter__(self) -> StreamProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncStreamProxy(_ProxyBase):
    """Wraps an async stream (``openai.AsyncStream``, ``anthropic.AsyncStream``)."""

    __slots__ = ()

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._agents_hub_target.__anext__()
        except BaseException as error:
            self._agents_hub_ended_by(error, StopAsyncIteration)
            raise
        self._agents_hub_call.observe(item)
        return item

    async def close(self) -> None:
        try:
            await self._agents_hub_target.close()
        finally:
            self._agents_hub_call.end_stream(closed=True)

    async def __aenter__(self) -> AsyncStreamProxy:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
