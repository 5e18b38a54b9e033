"""Installing and removing SDK wrappers: on the resource classes (every client) or on one client.

Class patches replace the method in the class ``__dict__`` and keep the exact object that was
there, so removing them puts back the very same function. A client patch sets a bound wrapper
on that client's resource objects only (instance attributes shadow the class), around the
class's unwrapped function, so a client patched both ways still gets one span per call. Every
wrapper carries its ``PatchState``: once deactivated it passes calls straight through, which
makes a wrapper that someone else wrapped over (and so cannot be removed) harmless.
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring.instrument.sdk_common import CallSite, LLMCall, PatchState

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["Patcher", "SdkPatches", "call_async", "call_sync", "default_wrap", "is_patched"]

_MISSING = object()
_MARK = "_agents_hub_patch"  # on our wrapper functions: (original function, PatchState)


def _patch_of(function: Any) -> tuple[Callable[..., Any], PatchState] | None:
    function = getattr(function, "__func__", function)  # a bound wrapper on a client
    return getattr(function, _MARK, None) if callable(function) else None


def _unwrapped(function: Any) -> Any:
    while (patch := _patch_of(function)) is not None:
        function = patch[0]
    return function


def _class_attribute(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(f"{cls.__name__}.{name}")


def _wrapper(site: CallSite, original: Callable[..., Any], state: PatchState) -> Callable[..., Any]:
    wrapper = (site.wrap or default_wrap)(site, original, state)
    setattr(wrapper, _MARK, (original, state))
    return wrapper


def is_patched(function: Any) -> bool:
    """Whether ``function`` (a class attribute or a client's bound method) is one of our live wrappers."""
    patch = _patch_of(function)
    return patch is not None and patch[1].active


class Patcher:
    """The patches of one SDK."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: PatchState | None = None
        self._originals: dict[tuple[type, str], Any] = {}

    def patch_classes(self, monitor: BaseMonitor, sites: Iterable[CallSite]) -> None:
        """Every client of the SDK reports to ``monitor``; again with another monitor retargets."""
        with self._lock:
            if self._state is None:
                self._state = PatchState(monitor)
            else:
                self._state.retarget(monitor)
            for site in sites:
                current = site.owner.__dict__.get(site.name, _MISSING)
                patch = _patch_of(current)
                if patch is not None and patch[1] is self._state:
                    continue  # already ours: instrumenting twice changes nothing
                self._originals[(site.owner, site.name)] = current
                original = _unwrapped(_class_attribute(site.owner, site.name))
                setattr(site.owner, site.name, _wrapper(site, original, self._state))

    def unpatch_classes(self) -> None:
        with self._lock:
            if self._state is not None:
                self._state.deactivate()
            self._state = None
            for (owner, name), original in self._originals.items():
                if _patch_of(owner.__dict__.get(name, _MISSING)) is None:
                    continue  # wrapped over by someone else: leave theirs, ours is inert now
                if original is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            self._originals.clear()

    @staticmethod
    def patch_instance(monitor: BaseMonitor, resource: Any, sites: Iterable[CallSite]) -> None:
        """Only calls made through ``resource`` (one client's ``chat.completions``...) report to ``monitor``."""
        for site in _applicable(resource, sites):
            patch = _patch_of(vars(resource).get(site.name))
            if patch is not None:
                patch[1].retarget(monitor)
                patch[1].active = True
                continue
            original = _unwrapped(_class_attribute(type(resource), site.name))
            wrapper = _wrapper(site, original, PatchState(monitor))
            setattr(resource, site.name, types.MethodType(wrapper, resource))

    @staticmethod
    def unpatch_instance(resource: Any, sites: Iterable[CallSite]) -> None:
        for site in _applicable(resource, sites):
            patch = _patch_of(vars(resource).get(site.name))
            if patch is not None:
                patch[1].deactivate()
                delattr(resource, site.name)


class SdkPatches:
    """``instrument_<sdk>``/``uninstrument_<sdk>`` for one SDK: its call sites and a client's resources.

    ``sites`` imports the SDK, so instrumenting without it installed says which extra to install;
    removing the class patches needs no import (there is nothing to remove without the SDK).
    """

    def __init__(self, sites: Callable[[], list[CallSite]], client_resources: Callable[[Any], list[Any]]) -> None:
        self._patcher = Patcher()
        self._sites = sites
        self._client_resources = client_resources

    def instrument(self, monitor: BaseMonitor, client: Any = None) -> None:
        sites = self._sites()
        if client is None:
            self._patcher.patch_classes(monitor, sites)
            return
        for resource in self._client_resources(client):
            self._patcher.patch_instance(monitor, resource, sites)

    def uninstrument(self, client: Any = None) -> None:
        if client is None:
            self._patcher.unpatch_classes()
            return
        sites = self._sites()
        for resource in self._client_resources(client):
            self._patcher.unpatch_instance(resource, sites)


def _applicable(resource: Any, sites: Iterable[CallSite]) -> list[CallSite]:
    mro = type(resource).__mro__
    return [site for site in sites if site.owner in mro]


class _InSpan:
    """Makes ``call``'s span current for the SDK's own code; an exception ends the span failed and propagates."""

    __slots__ = ("_call", "_token")

    def __init__(self, call: LLMCall) -> None:
        self._call = call

    def __enter__(self) -> None:
        self._token = self._call.attach()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> None:
        try:
            if error is not None:
                self._call.fail(error)
        finally:
            self._call.detach(self._token)


def call_sync(call: LLMCall | None, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run the SDK's own function inside ``call``'s span (or bare when there is no span)."""
    if call is None:
        return function(*args, **kwargs)
    with _InSpan(call):
        result = function(*args, **kwargs)
    return call.succeed(result)


async def call_async(call: LLMCall | None, start: Callable[[], Any]) -> Any:
    """Await what ``start()`` returns (the SDK's coroutine) inside ``call``'s span, or bare without one.

    ``start`` runs inside the span too: a decorator around the SDK method may raise before any
    coroutine exists (missing arguments), and that must end the span like any other failure.
    """
    if call is None:
        return await start()
    with _InSpan(call):
        result = await start()
    return call.succeed(result)


def default_wrap(site: CallSite, original: Callable[..., Any], state: PatchState) -> Callable[..., Any]:
    """A wrapper with the original's signature and kind (coroutine function or not)."""
    if _is_coroutine_function(original):
        @functools.wraps(original)
        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            call = LLMCall.begin(state, site, self, kwargs)
            return await call_async(call, lambda: original(self, *args, **kwargs))

        return async_wrapper

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call_sync(LLMCall.begin(state, site, self, kwargs), original, self, *args, **kwargs)

    return wrapper


def _is_coroutine_function(function: Callable[..., Any]) -> bool:
    # The SDKs put plain-function decorators (required_args) on their async methods: look through them.
    try:
        return inspect.iscoroutinefunction(inspect.unwrap(function))
    except ValueError:  # a __wrapped__ cycle
        return inspect.iscoroutinefunction(function)
