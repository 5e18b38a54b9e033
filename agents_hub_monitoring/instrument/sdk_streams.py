"""Transparent wrappers around the streams the LLM SDKs return, ending the call's span with them.

The proxy passes every chunk through unchanged and tells its call about it (first chunk, usage
and finish reasons accumulated from the chunks). The span ends when the stream is exhausted,
raises, is closed (``close()``, ``with``/``async with``, or the SDK's stream helpers closing it),
or is garbage-collected unfinished. ``isinstance(proxy, openai.Stream)`` still holds, and any
other attribute (``response``, ``_iterator``...) is the wrapped stream's own.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

__all__ = ["AsyncStreamProxy", "StreamProxy"]


class _Observer(Protocol):
    def observe(self, item: Any) -> None: ...

    def end_stream(self, error: BaseException | None = None) -> None: ...


class _ProxyBase:
    __slots__ = ("__weakref__", "_agents_hub_call", "_agents_hub_stream")

    def __init__(self, stream: Any, call: _Observer) -> None:
        object.__setattr__(self, "_agents_hub_stream", stream)
        object.__setattr__(self, "_agents_hub_call", call)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() checks against the SDK's stream classes keep working
        return type(self._agents_hub_stream)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_agents_hub_"):  # a slot not set yet (e.g. in __del__): no recursion
            raise AttributeError(name)
        return getattr(self._agents_hub_stream, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._agents_hub_stream, name, value)

    def __repr__(self) -> str:
        return repr(self._agents_hub_stream)

    def _agents_hub_ended_by(self, error: BaseException, exhausted: type[BaseException]) -> None:
        # Running out is the normal end; anything else (cancellation too) ends the span with that error.
        if isinstance(error, exhausted):
            self._agents_hub_call.end_stream()
        else:
            self._agents_hub_call.end_stream(error)

    def __del__(self) -> None:
        # Dropped without being finished or closed: end the span with what arrived so far.
        with contextlib.suppress(Exception):
            self._agents_hub_call.end_stream()


class StreamProxy(_ProxyBase):
    """Wraps a sync stream (``openai.Stream``, ``anthropic.Stream``)."""

    __slots__ = ()

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            item = self._agents_hub_stream.__next__()
        except BaseException as error:
            self._agents_hub_ended_by(error, StopIteration)
            raise
        self._agents_hub_call.observe(item)
        return item

    def close(self) -> None:
        try:
            self._agents_hub_stream.close()
        finally:
            self._agents_hub_call.end_stream()

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
            item = await self._agents_hub_stream.__anext__()
        except BaseException as error:
            self._agents_hub_ended_by(error, StopAsyncIteration)
            raise
        self._agents_hub_call.observe(item)
        return item

    async def close(self) -> None:
        try:
            await self._agents_hub_stream.close()
        finally:
            self._agents_hub_call.end_stream()

    async def __aenter__(self) -> AsyncStreamProxy:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
