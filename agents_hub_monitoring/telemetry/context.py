"""Conversation context: who is talking, in which conversation, under which tags.

Held in a ``ContextVar`` so it follows asyncio tasks by itself. Threads start with an empty
context in Python, so :func:`propagate_context` carries it (and the active OTel span, which also
lives in a ContextVar) into a callable that runs elsewhere.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from agents_hub_monitoring.serialization import coerce_id, safe_repr

__all__ = [
    "ConversationContext",
    "bind_conversation",
    "current_conversation",
    "propagate_context",
]

_T = TypeVar("_T")


@dataclass(frozen=True)
class ConversationContext:
    """Identity of the conversation an operation belongs to; stamped on every span."""

    conversation_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> ConversationContext:
        """Build from an Agents Hub style ``context`` dict; unknown keys go to metadata.

        Never raises: a ``context`` that is not a mapping is ignored, and ``metadata`` that is
        not a mapping is kept under the key ``metadata``.
        """
        if not values or not isinstance(values, Mapping):
            return cls()
        values = dict(values)
        raw_metadata = values.pop("metadata", None)
        if raw_metadata is None:
            metadata: dict[str, Any] = {}
        elif isinstance(raw_metadata, Mapping):
            metadata = {_text(key): value for key, value in raw_metadata.items()}
        else:
            metadata = {"metadata": raw_metadata}
        known = {"conversation_id", "user_id", "session_id", "tags"}
        metadata.update({_text(key): value for key, value in values.items() if key not in known})
        return cls(
            conversation_id=coerce_id(values.get("conversation_id")),
            user_id=coerce_id(values.get("user_id")),
            session_id=coerce_id(values.get("session_id")),
            tags=_coerce_tags(values.get("tags")),
            metadata=metadata,
        )

    def merged_with(self, other: ConversationContext) -> ConversationContext:
        """``other`` on top of ``self``: set fields win, tags and metadata accumulate."""
        return replace(
            self,
            conversation_id=other.conversation_id or self.conversation_id,
            user_id=other.user_id or self.user_id,
            session_id=other.session_id or self.session_id,
            tags=tuple(dict.fromkeys(self.tags + other.tags)),
            metadata={**self.metadata, **other.metadata},
        )

    def is_empty(self) -> bool:
        return not (self.conversation_id or self.user_id or self.session_id or self.tags or self.metadata)


def _text(key: Any) -> str:
    return key if isinstance(key, str) else safe_repr(key)  # safe_repr never raises


def _coerce_tags(tags: Any) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        return (tags,)
    if isinstance(tags, (list, tuple, set, frozenset)):
        return tuple(_text(tag) for tag in tags)
    return (_text(tags),)  # one tag given bare (and never consume a generator)


_EMPTY = ConversationContext()
_current: contextvars.ContextVar[ConversationContext] = contextvars.ContextVar(
    "agents_hub_conversation", default=_EMPTY
)


def current_conversation() -> ConversationContext:
    """The conversation context of the running task or thread (empty when none is bound)."""
    return _current.get()


@contextmanager
def bind_conversation(context: ConversationContext) -> Iterator[ConversationContext]:
    """Bind ``context`` (merged over the current one) for the duration of the block."""
    merged = _current.get().merged_with(context)
    token = _current.set(merged)
    try:
        yield merged
    finally:
        _current.reset(token)


def propagate_context(function: Callable[..., _T]) -> Callable[..., _T]:
    """Wrap ``function`` so it runs in a copy of the caller's context (conversation and span).

    Use it when handing work to a thread::

        executor.submit(propagate_context(work), item)
        threading.Thread(target=propagate_context(work)).start()
    """
    captured = contextvars.copy_context()

    @functools.wraps(function)
    def run_in_captured_context(*args: Any, **kwargs: Any) -> _T:
        # A Context can be entered by one thread at a time: run each call in its own copy.
        return captured.copy().run(function, *args, **kwargs)

    return run_in_captured_context
