"""Decorators: ``@monitor.agent``, ``@monitor.tool``, ``@monitor.llm``, ``@monitor.retrieval``, ``@monitor.observe``.

Each works bare or with arguments, on functions, methods, classmethods and staticmethods (either
decorator order), and on classes (instrumenting ``run``/``arun``/``__call__``, or ``methods=``;
a subclass of a decorated class can be decorated too). The module-level versions use the default
monitor (``set_default_monitor``), looked up on every call: decorating before a monitor exists
works, and without one (or after its shutdown) the call goes straight through. Decorating twice
with the same monitor and kind gives one span, with the outermost decorator's options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agents_hub_monitoring.instrument.calls import MARKER, Marker, wrap_function
from agents_hub_monitoring.instrument.plan import Options, Plan
from agents_hub_monitoring.instrument.spans import DEFAULT
from agents_hub_monitoring.monitors.scope import SpanScope

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor

__all__ = ["DecoratorsMixin", "agent", "get_default_monitor", "llm", "observe", "retrieval",
           "set_default_monitor", "tool"]

_CLASS_METHODS = ("run", "arun", "__call__")
_DESCRIPTORS = (staticmethod, classmethod)


def decorate(monitor: BaseMonitor | None, target: Any, options: Options) -> Any:
    """``target`` instrumented, or a decorator when ``target`` is None or a name."""
    if target is None:
        return lambda actual: decorate(monitor, actual, options)
    if isinstance(target, str):
        named = replace(options, name=target)
        return lambda actual: decorate(monitor, actual, named)
    if isinstance(target, type):
        return _instrument_class(monitor, target, options)
    if isinstance(target, _DESCRIPTORS):
        return type(target)(decorate(monitor, target.__func__, options))
    if not callable(target):
        raise TypeError(f"@{options.kind} needs a function, method or class, got {type(target).__name__}")
    if options.methods is not None:
        raise TypeError("methods= applies to classes only")
    function = _unwrapped(monitor, target, options.kind)
    return wrap_function(function, Plan(function, options), monitor)


def _unwrapped(monitor: BaseMonitor | None, function: Any, kind: str) -> Any:
    """``function``, or the original under it if this monitor already wrapped it as the same kind:
    ``@m.tool @m.tool`` (or ``m.tool(name="alias")(tool)``) is one span, the outermost options win."""
    marker = getattr(function, MARKER, None)
    if isinstance(marker, Marker) and marker.monitor is monitor and marker.kind == kind:
        return marker.function
    return function


def _find(cls: type, name: str) -> tuple[type | None, Any]:
    """The class that defines ``name`` for ``cls`` (``cls`` itself or a base), and the attribute."""
    for klass in cls.__mro__:
        if klass is object:
            break
        if name in vars(klass):
            return klass, vars(klass)[name]
    return None, None


def _instrument_class(monitor: BaseMonitor | None, cls: type, options: Options) -> type:
    explicit = options.methods is not None
    instrumented = []
    for method in options.methods or _CLASS_METHODS:
        owner, attribute = _find(cls, method)
        if attribute is None:
            if explicit:
                raise AttributeError(f"{cls.__name__} has no method {method!r} to instrument")
            continue
        descriptor = type(attribute) if isinstance(attribute, _DESCRIPTORS) else None
        function = attribute.__func__ if descriptor is not None else attribute
        if not callable(function):
            continue
        marker = getattr(function, MARKER, None)
        if isinstance(marker, Marker) and marker.monitor is monitor:
            if owner is cls:
                instrumented.append(method)  # decorated in this class already: that decorator wins
                continue
            function = marker.function  # inherited from a decorated base: instrumented anew for cls
        name = options.name or (cls.__name__ if method in _CLASS_METHODS else f"{cls.__name__}.{method}")
        guarded = method in _CLASS_METHODS and descriptor is not staticmethod
        plan = Plan(function, replace(options, methods=None), name=name, guarded=guarded)
        wrapped = wrap_function(function, plan, monitor)
        setattr(cls, method, descriptor(wrapped) if descriptor is not None else wrapped)
        instrumented.append(method)
    if not instrumented and not explicit:
        raise TypeError(f"@{options.kind} on class {cls.__name__}: it has no run, arun or __call__; "
                        "name the methods with methods=(...)")
    return cls


def _methods(methods: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if methods is None:
        return None
    return (methods,) if isinstance(methods, str) else tuple(methods)


class _RetrievalScope(SpanScope):
    """``monitor.retrieval("kb", query=q)``: a span context manager that is also a decorator."""

    __slots__ = ("_options",)

    def __init__(self, monitor: BaseMonitor, spec: Any, options: Options) -> None:
        super().__init__(monitor, spec)
        self._options = options

    def __call__(self, target: Any) -> Any:
        return decorate(self._monitor, target, self._options)


class DecoratorsMixin:
    """Mixin for BaseMonitor: the decorators, bound to this monitor."""

    def agent(self, function: Any = None, /, *, name: str | None = None, model: str | None = None,
              capture_input: bool = True, capture_output: bool = True,
              attributes: Mapping[str, Any] | None = None, methods: Sequence[str] | None = None) -> Any:
        """An agent run per call (``invoke_agent {name}``): arguments -> input, return -> output."""
        return decorate(self, function, Options(  # type: ignore[arg-type]
            "agent", name, capture_input, capture_output, attributes, model=model, methods=_methods(methods)))

    def tool(self, function: Any = None, /, *, name: str | None = None, description: str | None = None,
             tool_type: str = "function", capture_input: bool = True, capture_output: bool = True,
             attributes: Mapping[str, Any] | None = None, stream: bool | None = None,
             methods: Sequence[str] | None = None) -> Any:
        """A tool call per call (``execute_tool {name}``); the docstring's first line describes it."""
        return decorate(self, function, Options(  # type: ignore[arg-type]
            "tool", name, capture_input, capture_output, attributes, stream, description=description,
            tool_type=tool_type, methods=_methods(methods)))

    def llm(self, function: Any = None, /, *, name: str | None = None, model: str | None = None,
            provider: str | None = None, operation: str = "chat", stream: bool | None = None,
            capture_input: bool = True, capture_output: bool = True,
            attributes: Mapping[str, Any] | None = None, methods: Sequence[str] | None = None) -> Any:
        """An LLM call per call (``chat {model}``): model from here or a ``model`` argument; usage,
        finish reasons and output read from the returned response or streamed chunks."""
        return decorate(self, function, Options(  # type: ignore[arg-type]
            "llm", name, capture_input, capture_output, attributes, stream, model=model, provider=provider,
            operation=operation, methods=_methods(methods)))

    def retrieval(self, source: Any = None, *, query: Any = None, attributes: Mapping[str, Any] | None = None,
                  name: str | None = None, capture_input: bool = True, capture_output: bool = True,
                  stream: bool | None = None, methods: Sequence[str] | None = None) -> Any:
        """A retrieval span: ``with monitor.retrieval("kb", query=q) as r:``, or a decorator:
        ``@monitor.retrieval``, ``@monitor.retrieval("kb")``, ``@monitor.retrieval(name="kb")``."""
        options = Options("retrieval", name or (source if isinstance(source, str) else None), capture_input,
                          capture_output, attributes, stream, methods=_methods(methods))
        if callable(source) or name is not None or not (capture_input and capture_output) or stream is not None \
                or methods is not None:
            return decorate(self, None if isinstance(source, str) else source, options)  # type: ignore[arg-type]
        monitor: BaseMonitor = self  # type: ignore[assignment]
        return _RetrievalScope(monitor, monitor._retrieval_spec(source, query=query, attributes=attributes),
                               options)

    def observe(self, function: Any = None, /, *, kind: str = "span", name: str | None = None,
                capture_input: bool = True, capture_output: bool = True,
                attributes: Mapping[str, Any] | None = None, stream: bool | None = None,
                methods: Sequence[str] | None = None, **options: Any) -> Any:
        """Any kind of operation: ``span`` (default), ``agent``, ``tool``, ``llm``, ``retrieval``,
        ``memory`` (``operation=``, ``store=``) or ``moderation``."""
        return decorate(self, function, Options(  # type: ignore[arg-type]
            kind, name, capture_input, capture_output, attributes, stream, methods=_methods(methods), **options))


def set_default_monitor(monitor: BaseMonitor | None) -> BaseMonitor | None:
    """The monitor the module-level decorators use from now on (None: calls go straight through).

    Returns the previous one. Decorated functions look it up on every call.
    """
    from agents_hub_monitoring.monitors.base import BaseMonitor

    if monitor is not None and not isinstance(monitor, BaseMonitor):
        raise TypeError(f"expected a BaseMonitor or None, got {type(monitor).__name__}")
    previous, DEFAULT.monitor = DEFAULT.monitor, monitor
    return previous


def get_default_monitor() -> BaseMonitor | None:
    return DEFAULT.monitor


def _module_level(method: Callable[..., Any]) -> Callable[..., Any]:
    def decorator(function: Any = None, /, **options: Any) -> Any:
        return method(None, function, **options)

    decorator.__name__ = decorator.__qualname__ = method.__name__
    decorator.__doc__ = f"Like ``monitor.{method.__name__}``, with the default monitor (see set_default_monitor)."
    return decorator


agent = _module_level(DecoratorsMixin.agent)
tool = _module_level(DecoratorsMixin.tool)
llm = _module_level(DecoratorsMixin.llm)
observe = _module_level(DecoratorsMixin.observe)


def retrieval(function: Any = None, /, *, name: str | None = None, capture_input: bool = True,
              capture_output: bool = True, attributes: Mapping[str, Any] | None = None,
              stream: bool | None = None, methods: Sequence[str] | None = None) -> Any:
    """Like ``@monitor.retrieval``, with the default monitor (see set_default_monitor)."""
    return decorate(None, function, Options("retrieval", name, capture_input, capture_output, attributes, stream,
                                            methods=_methods(methods)))
