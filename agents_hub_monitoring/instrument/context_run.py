"""Running an iteration step, or an awaitable, inside a given ``contextvars.Context``.

A traced generator's body runs in a private context holding its span, the way an asyncio task
runs in its own context: each ``next()``/``send()`` enters that context for the duration of the
step and leaves it before the value reaches the consumer. The span is therefore never current
in the consumer's code (nothing leaks into later spans, whatever the consumer does: break,
close, drop, cancel), while the body sees its own span, and its own nested ``with`` blocks,
across its ``yield``s. Closing always runs in the same private context, so the body's context
tokens are reset where they were set, even when the garbage collector closes the generator.

For async iteration every ``send``/``throw`` into the step's awaitable is forwarded through
``Context.run``: the await chain stays the event loop's (futures pass through unchanged), only
the code of the step runs in the private context.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Generator
from typing import Any

__all__ = ["InContext"]


class InContext:
    """``await InContext(context, awaitable)``: await ``awaitable`` with its code run in ``context``."""

    __slots__ = ("_awaitable", "_context")

    def __init__(self, context: contextvars.Context, awaitable: Awaitable[Any]) -> None:
        self._context = context
        self._awaitable = awaitable

    def __await__(self) -> Generator[Any, Any, Any]:
        return _drive(self._context, self._context.run(self._awaitable.__await__))


def _drive(context: contextvars.Context, iterator: Any) -> Generator[Any, Any, Any]:
    send = iterator.send
    throw = getattr(iterator, "throw", None)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            if error is None:
                signal = context.run(send, value)
            elif throw is None:
                raise error
            else:
                signal = context.run(throw, error)
        except StopIteration as stop:
            return stop.value
        value = error = None
        try:
            value = yield signal
        except GeneratorExit:
            close = getattr(iterator, "close", None)
            if close is not None:
                context.run(close)
            raise
        except BaseException as thrown:  # cancellation and anything else thrown into the await
            error = thrown
