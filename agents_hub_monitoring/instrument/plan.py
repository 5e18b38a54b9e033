"""Everything about a decorated function that does not change between calls, worked out once.

A ``Plan`` holds the span name, kind and start attributes, the handle class that records the
operation's metrics, the capture switches and the argument names: the wrapper's per-call work
is then starting the span, calling the function and ending the span.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind

from agents_hub_monitoring.monitors.handles import SpanHandle, attribute_value
from agents_hub_monitoring.monitors.operations import (
    AgentRunHandle,
    LLMCallHandle,
    MemoryHandle,
    ModerationHandle,
    RetrievalHandle,
    ToolCallHandle,
)
from agents_hub_monitoring.pricing import normalize_provider
from agents_hub_monitoring.telemetry import semconv as sc

__all__ = ["KINDS", "Binder", "Options", "Plan", "short_name"]

KINDS = frozenset({"span", "agent", "tool", "llm", "retrieval", "memory", "moderation"})
_SELF_NAMES = frozenset({"self", "cls"})
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Options:
    """What the user passed to the decorator."""

    kind: str = "span"
    name: str | None = None
    capture_input: bool = True
    capture_output: bool = True
    attributes: Mapping[str, Any] | None = None
    stream: bool | None = None
    model: str | None = None
    provider: str | None = None
    operation: str | None = None
    description: str | None = None
    tool_type: str = "function"
    store: str | None = None
    methods: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")


def short_name(function: Any) -> str:
    """``Planner.run`` for a method, ``search`` for a function (``<locals>`` prefixes dropped)."""
    target = getattr(function, "func", function)  # functools.partial
    qualname = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    if not isinstance(qualname, str):
        return type(function).__name__
    return qualname.rsplit("<locals>.", 1)[-1]


class Binder:
    """Arguments by parameter name, ``self``/``cls`` left out; cheap for plain signatures."""

    __slots__ = ("first", "names", "signature", "simple")

    def __init__(self, function: Any) -> None:
        try:
            self.signature: inspect.Signature | None = inspect.signature(function)
        except (TypeError, ValueError):
            self.signature = None
        params = list(self.signature.parameters.values()) if self.signature else []
        self.first = params[0].name if params and params[0].kind in _POSITIONAL else None
        if self.first not in _SELF_NAMES:
            self.first = None
        # Without *args/**kwargs, zip(names, args) + kwargs is exactly what Signature.bind gives.
        self.simple = self.signature is not None and all(p.kind in (*_POSITIONAL, p.KEYWORD_ONLY) for p in params)
        self.names = tuple(p.name for p in params if p.kind in _POSITIONAL)

    @property
    def has_parameters(self) -> bool:
        return self.signature is None or len(self.signature.parameters) > (self.first is not None)

    def accepts(self, name: str) -> bool:
        return self.signature is not None and name in self.signature.parameters

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.simple:
            bound = dict(zip(self.names, args, strict=False))
            if kwargs:
                bound.update(kwargs)
        elif self.signature is not None:
            try:
                bound = dict(self.signature.bind(*args, **kwargs).arguments)
            except TypeError:  # the call itself will fail with the right message
                bound = {"args": list(args), "kwargs": kwargs}
        else:
            bound = {"args": list(args), "kwargs": kwargs} if kwargs else {"args": list(args)}
        if self.first is not None:
            bound.pop(self.first, None)
        return bound


def _description(function: Any) -> str | None:
    doc = inspect.getdoc(function)
    return doc.strip().splitlines()[0].strip() or None if doc and doc.strip() else None


class Plan:
    """The per-function constants the wrappers read on every call."""

    __slots__ = ("agent_name", "attributes", "binder", "capture_input", "capture_output", "dynamic_name",
                 "guarded", "handle_args", "handle_class", "handle_kwargs", "kind", "model_parameter", "name",
                 "operation", "output_always", "output_key", "provider", "reads_arguments", "request_model",
                 "span_kind", "span_name", "stream")

    def __init__(self, function: Any, options: Options, name: str | None = None, *, guarded: bool = False) -> None:
        self.kind = options.kind
        # A class's run/arun/__call__: a nested call into another of them on the same object, while
        # the outer one's span is current, goes straight through (spans.reentrant).
        self.guarded = guarded
        self.name = name or options.name or short_name(function)
        self.capture_input = options.capture_input
        self.capture_output = options.capture_output
        self.stream = options.stream
        self.binder = Binder(function)
        self.agent_name: str | None = None
        self.handle_kwargs: dict[str, Any] = {}
        self.operation = self.provider = self.request_model = None
        self.model_parameter = self.dynamic_name = False
        attributes = getattr(self, f"_setup_{self.kind}")(function, options)
        for key, value in (options.attributes or {}).items():
            if value is not None:
                attributes[str(key)] = attribute_value(value)
        self.attributes = attributes
        # Per call: look at the arguments (input capture, an LLM's model and parameters)? And handle
        # the result even when content capture is off (usage, document counts, moderation verdicts)?
        self.reads_arguments = (self.capture_input and self.binder.has_parameters) or self.kind == "llm"
        self.output_always = self.kind in ("llm", "retrieval", "memory", "moderation")
        self.output_key = sc.GEN_AI_TOOL_CALL_RESULT if self.kind == "tool" else sc.OUTPUT_VALUE

    def _setup_agent(self, function: Any, options: Options) -> dict[str, Any]:
        self.agent_name = self.name
        self._set(sc.span_name(sc.OP_INVOKE_AGENT, self.name), SpanKind.INTERNAL, AgentRunHandle,
                  (self.name, options.model))
        attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: self.name}
        if options.model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = str(options.model)
        return attributes

    def _setup_tool(self, function: Any, options: Options) -> dict[str, Any]:
        self._set(sc.span_name(sc.OP_EXECUTE_TOOL, self.name), SpanKind.INTERNAL, ToolCallHandle, (self.name,))
        attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: self.name,
                      sc.GEN_AI_TOOL_TYPE: options.tool_type}
        description = options.description or _description(function)
        if description:
            attributes[sc.GEN_AI_TOOL_DESCRIPTION] = description
        return attributes

    def _setup_llm(self, function: Any, options: Options) -> dict[str, Any]:
        self.operation = options.operation or sc.OP_CHAT
        self.provider = normalize_provider(options.provider) if options.provider else None
        self.request_model = str(options.model) if options.model else None
        self.model_parameter = self.request_model is None and self.binder.accepts("model")
        self.dynamic_name = self.model_parameter and not options.name
        # An explicit name replaces the conventional "{operation} {model}" span name.
        span_name = options.name or sc.span_name(self.operation, self.request_model)
        self._set(span_name, SpanKind.CLIENT, LLMCallHandle, ())
        self.handle_kwargs = {"operation": self.operation, "provider": self.provider,
                              "request_model": self.request_model}
        attributes: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: self.operation}
        if self.provider:
            attributes[sc.GEN_AI_PROVIDER_NAME] = self.provider
        if self.request_model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = self.request_model
        return attributes

    def _setup_retrieval(self, function: Any, options: Options) -> dict[str, Any]:
        self._set(sc.span_name(sc.OP_RETRIEVAL, self.name), SpanKind.CLIENT, RetrievalHandle, (self.name,))
        return {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL, sc.GEN_AI_DATA_SOURCE_ID: self.name}

    def _setup_memory(self, function: Any, options: Options) -> dict[str, Any]:
        operation = options.operation or "search_memory"
        span_name = options.name or operation
        self._set(span_name, SpanKind.CLIENT, MemoryHandle, (operation, options.store))
        attributes = {sc.GEN_AI_OPERATION_NAME: operation, sc.MEMORY_OPERATION: operation}
        if options.store:
            attributes[sc.MEMORY_STORE] = str(options.store)
        return attributes

    def _setup_moderation(self, function: Any, options: Options) -> dict[str, Any]:
        self._set(sc.span_name(sc.OP_GUARDRAIL, self.name), SpanKind.INTERNAL, ModerationHandle, ())
        return {sc.GEN_AI_OPERATION_NAME: sc.OP_GUARDRAIL, sc.GEN_AI_GUARDRAIL_NAME: self.name}

    def _setup_span(self, function: Any, options: Options) -> dict[str, Any]:
        self._set(self.name, SpanKind.INTERNAL, SpanHandle, ())
        return {}

    def _set(self, span_name: str, span_kind: SpanKind, handle_class: type, handle_args: tuple[Any, ...]) -> None:
        self.span_name = span_name
        self.span_kind = span_kind
        self.handle_class = handle_class
        self.handle_args = handle_args
