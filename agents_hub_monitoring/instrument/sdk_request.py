"""What an SDK call asks for (read from its keyword arguments), and the LLM span it belongs to.

An SDK call made inside an LLM span of the same monitor (``@monitor.llm``, ``monitor.llm_call``)
is that span's call: a second span of its own would count its tokens and cost twice. The wrapper
then adds what the request tells (provider, model, parameters, tool definitions) where the
enclosing span does not say it already, and fills the span's handle from the response (see
``monitors/current_llm``); the handle records the call's metrics once, at its end.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from agents_hub_monitoring.monitors.handles import attribute_value
from agents_hub_monitoring.telemetry import semconv as sc
from agents_hub_monitoring.telemetry.pipeline import INSTRUMENTATION_SCOPE

if TYPE_CHECKING:
    from agents_hub_monitoring.monitors.base import BaseMonitor
    from agents_hub_monitoring.monitors.operations import LLMCallHandle

__all__ = ["LLMRequest", "capturable", "enclosing_llm_span", "given", "model_name", "request_parameters",
           "require_sdk"]


def require_sdk(module: str, extra: str) -> ModuleType:
    """Import an SDK, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"agents_hub_monitoring: the {extra} integration needs the `{module}` package; "
                          f"install it with `pip install agents-hub-monitoring[{extra}]`") from error


def given(value: Any) -> Any:
    """None for the SDKs' "not given" sentinels (``omit``, ``NOT_GIVEN``), the value otherwise."""
    return None if type(value).__name__ in ("Omit", "NotGiven") else value


def capturable(value: Any) -> Any:
    """The value if reading it cannot consume it: a one-shot iterable given to the SDK stays untouched."""
    value = given(value)
    return value if isinstance(value, (str, list, tuple, Mapping)) else None


def request_parameters(kwargs: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """``gen_ai.request.*`` parameters: SDK argument -> convention name; the first one given wins."""
    parameters: dict[str, Any] = {}
    for argument, name in names.items():
        value = given(kwargs.get(argument))
        if value is None or name in parameters:
            continue
        if name == "stop_sequences":  # a string or a list of strings; the conventions want a list
            value = [value] if isinstance(value, str) else [str(v) for v in value] if isinstance(
                value, (list, tuple)) else None
        if isinstance(value, (str, bool, int, float)) or (isinstance(value, list) and value):
            parameters[name] = value
    return parameters


def model_name(value: Any) -> str | None:
    value = given(value)
    return str(value) if value else None


def enclosing_llm_span(monitor: BaseMonitor) -> Any:
    """The current span if it is a recording LLM span started by ``monitor``'s tracer, else None.

    Identity, not names: each monitor has its own tracer provider and resource, so the LLM span
    of another monitor (which exports elsewhere and counts its own metrics) does not count, and
    neither does a span some other instrumentation started on a shared provider.
    """
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    scope = getattr(span, "instrumentation_scope", None)
    if getattr(scope, "name", None) != INSTRUMENTATION_SCOPE:
        return None
    if getattr(span, "resource", None) is not monitor.tracer_provider.resource:
        return None
    attributes = getattr(span, "attributes", None) or {}
    return span if attributes.get(sc.GEN_AI_OPERATION_NAME) in sc.LLM_OPERATIONS else None


@dataclass
class LLMRequest:
    """What a call asks for, read from its keyword arguments."""

    model: str | None
    provider: str
    messages: Any = None
    system: Any = None
    parameters: dict[str, Any] = field(default_factory=dict)
    tools: Any = None
    stream: bool = False

    def spec(self, monitor: BaseMonitor) -> Any:
        tools = monitor._content(self.tools) if self.tools else None
        return monitor._llm_spec(self.model, provider=self.provider, messages=self.messages, system=self.system,
                                 parameters=self.parameters, operation=sc.OP_CHAT,
                                 attributes={sc.GEN_AI_TOOL_DEFINITIONS: tools} if tools else None)

    def enrich(self, span: Any, monitor: BaseMonitor) -> None:
        """Add the request's structure to an enclosing LLM span, never overriding what it says.

        Messages and system instructions are left out: the enclosing span records its own input
        under its own capture switches, which this call cannot see.
        """
        present = span.attributes or {}
        values: dict[str, Any] = {sc.GEN_AI_PROVIDER_NAME: self.provider, sc.GEN_AI_REQUEST_MODEL: self.model}
        values.update({sc.GEN_AI_REQUEST_PREFIX + name: value for name, value in self.parameters.items()})
        if self.tools:
            values[sc.GEN_AI_TOOL_DEFINITIONS] = monitor._content(self.tools)  # None when capture is off
        added = {key: attribute_value(value) for key, value in values.items()
                 if value is not None and key not in present}
        if added:
            span.set_attributes(added)
        # A span named after its operation alone ("chat") learns its model the conventions' way.
        operation = present.get(sc.GEN_AI_OPERATION_NAME)
        if sc.GEN_AI_REQUEST_MODEL in added and isinstance(operation, str) and span.name == operation:
            span.update_name(sc.span_name(operation, self.model))

    def adopt(self, handle: LLMCallHandle, monitor: BaseMonitor) -> None:
        """``enrich`` for an enclosing span whose handle is in reach: the handle learns the provider
        and model it lacks too (its price lookup and metrics use them), recorded or sampled out."""
        if handle.provider is None:
            handle.provider = self.provider
        if handle.request_model is None:
            handle.request_model = self.model
        if handle.span.is_recording():
            self.enrich(handle.span, monitor)
