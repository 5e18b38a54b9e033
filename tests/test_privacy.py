from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from agents_hub_monitoring.exporters.scrubbing import ScrubbingSpanExporter
from agents_hub_monitoring.privacy import PrivacySettings, Redactor, Scrubber, pseudonymize, resolve_capture_content
from agents_hub_monitoring.serialization import dumps

OPENAI_KEY = "sk-proj-abc123DEF456ghi789JKL012mno"
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def redact(text: str, **settings: Any) -> str:
    return Redactor(PrivacySettings(**settings)).redact_text(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"key {OPENAI_KEY} end", "openai_key"),
        ("key sk-abcdefghij0123456789ABCDEFGHIJ end", "openai_key"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuv12345 end", "anthropic_key"),
        ("key sk-lf-1234abcd-aaaa-bbbb-cccc end", "langfuse_key"),
        ("key pk-lf-1234abcd-aaaa-bbbb-cccc end", "langfuse_key"),
        ("key AKIAIOSFODNN7EXAMPLE end", "aws_access_key"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret"),
        ("key ghp_abcdefghijklmnopqrstuvwxyz0123456789 end", "github_token"),
        ("key github_pat_11ABCDEFG0123456789_abcdefghijklmnop end", "github_token"),
        ("key xoxb-1234567890-abcdefghij end", "slack_token"),
        ("key AIzaSyA-1234567890abcdefghijklmnopqrstu end", "google_api_key"),
        ("t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
         "jwt"),
        ("Authorization: Bearer abc123def456ghi789", "bearer_token"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "basic_auth"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "private_key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (cut", "private_key"),
        ("db https://bob:s3cret@db.internal:5432/x", "password"),
        ("password=hunter2", "secret"),
        ("mail john.doe+tag@example.co.uk now", "email"),
        ("call +1 415 555 2671 now", "phone"),
        ("call +44 20 7946 0958 now", "phone"),
        ("call +33612345678 now", "phone"),
        ("call (415) 555-2671 now", "phone"),
        ("call 415-555-2671 now", "phone"),
        ("call 1-415-555-2671 now", "phone"),
        ("card 4111 1111 1111 1111 now", "credit_card"),
        ("card 4111-1111-1111-1111 now", "credit_card"),
        ("card 378282246310005 now", "credit_card"),
        ("iban DE89 3704 0044 0532 0130 00 now", "iban"),
        ("iban GB82WEST12345698765432 now", "iban"),
        ("ssn 123-45-6789 now", "ssn"),
        ("host 192.168.1.10 now", "ip_address"),
    ],
)
def test_secrets_and_pii_are_redacted_with_typed_markers(text: str, kind: str) -> None:
    redacted = redact(text)
    assert f"[REDACTED:{kind}]" in redacted
    assert not re.search(r"sk-|AKIA|ghp_|xoxb|hunter2|s3cret|example\.co|555|4111|3704|45-6789|168\.1", redacted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password: hunter2, next", "password: [REDACTED:secret], next"),
        ('{"password": "hunter 2", "max_tokens": 100}', '{"password": "[REDACTED:secret]", "max_tokens": 100}'),
        ("db_password='x y' api_key=abc&secret=def", "db_password='[REDACTED:secret]' api_key=[REDACTED:secret]"
                                                     "&secret=[REDACTED:secret]"),
        ("access_token: t0k3n", "access_token: [REDACTED:secret]"),
        (f"api_key={OPENAI_KEY}", "api_key=[REDACTED:openai_key]"),
        ("Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [REDACTED:bearer_token]"),
    ],
)
def test_assignments_keep_the_key_and_lose_the_value(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
        "uuid 123e4567-e89b-12d3-a456-426614174000 and 550e8400-e29b-41d4-a716-446655440000",
        "version 1.2.3 released 2024-01-15T10:30:00Z at 12:30:45.123",
        "epoch 1700000000000 id 12345678901234 count 4155552671 price 3.14159265358979",
        "max_tokens=100, prompt_tokens: 50, total tokens 150, keywords: a b",
        "the bearer of bad news; Bearer bonds and certificates; basic authentication is required",
        "order 4111 1111 1111 1112 fails Luhn; 1234567890123456 has no card prefix",
        "AB12 CDEF GHIJ KLMN is no IBAN; DEADBEEF12345678DEADBEEF12345678 is hex",
        "task-management-system-overview-2024 and sk-learn are words",
        "ordinary prose: the agent called a tool, got a result and answered the question.",
        "ssn-like 000-12-3456 and dates 2024-01-15",
    ],
)
def test_ordinary_text_ids_and_numbers_are_not_redacted(text: str) -> None:
    assert redact(text) == text


def test_clean_text_is_returned_as_the_same_object() -> None:
    text = "nothing to see here " * 100
    assert Redactor().redact_text(text) is text


def test_pii_and_secret_switches() -> None:
    text = f"mail a@example.com key {OPENAI_KEY}"
    assert redact(text, redact_pii=False) == "mail a@example.com key [REDACTED:openai_key]"
    assert redact(text, redact_secrets=False) == f"mail [REDACTED:email] key {OPENAI_KEY}"
    assert redact(text, redact_pii=False, redact_secrets=False) == text


def test_extra_patterns_and_custom_redaction_text() -> None:
    assert redact("order ORD-12345 shipped", extra_patterns=(r"ORD-\d+",)) == "order [REDACTED:custom] shipped"
    assert redact("mail a@example.com", redaction_text="<hidden>") == "mail <hidden>"
    assert redact("mail a@example.com", redaction_text="[X]") == "mail [X:email]"


def test_redact_value_handles_attribute_value_shapes() -> None:
    redactor = Redactor()
    assert redactor.redact_value(["a@example.com", "ok"]) == ["[REDACTED:email]", "ok"]
    assert redactor.redact_value(("a@example.com",)) == ("[REDACTED:email]",)
    assert redactor.redact_value({"to": ["a@example.com", 1]}) == {"to": ["[REDACTED:email]", 1]}
    assert redactor.redact_value(42) == 42
    clean = ("x", "y")
    assert redactor.redact_value(clean) is clean


def test_pseudonyms_are_stable_keyed_and_shaped() -> None:
    first = pseudonymize("alice", "key-1")
    assert first == pseudonymize("alice", "key-1")
    assert first != pseudonymize("alice", "key-2")
    assert first != pseudonymize("bob", "key-1")
    assert re.fullmatch(r"u_[0-9a-f]{32}", first)
    with pytest.raises(ValueError):
        pseudonymize("alice", "")


def test_settings_never_show_the_pseudonymization_key() -> None:
    settings = PrivacySettings(pseudonymize_ids=True, pseudonymization_key="top-secret-key")
    assert "top-secret-key" not in repr(settings)
    assert "top-secret-key" not in str(settings)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_content_chars": 0}, "max_content_chars"),
        ({"max_content_chars": -5}, "max_content_chars"),
        ({"pseudonymize_ids": True}, "pseudonymization_key"),
        ({"extra_patterns": ("ok", "(unclosed")}, "(unclosed"),
        ({"redaction_text": ""}, "redaction_text"),
        ({"pseudonymize_ids": True, "pseudonymization_key": b"bytes"}, "pseudonymization_key must be a string"),
        ({"allowed_attributes": "user.id"}, "allowed_attributes"),
        ({"max_attribute_chars": 0}, "max_attribute_chars"),
        ({"max_attribute_chars": True}, "max_attribute_chars"),
        ({"max_attribute_chars": 4096.0}, "max_attribute_chars"),
    ],
)
def test_invalid_settings_raise_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        PrivacySettings(**kwargs)


def test_settings_normalise_collections_and_support_replace() -> None:
    settings = PrivacySettings(extra_patterns=["a+"], allowed_attributes={"x"})  # type: ignore[arg-type]
    assert settings.extra_patterns == ("a+",)
    assert settings.allowed_attributes == frozenset({"x"})
    assert dataclasses.replace(settings, capture_content=False).capture_content is False


# EVENT_ONLY asks for content on events only; this package emits no content events, so spans get none.
@pytest.mark.parametrize(
    ("value", "capture"),
    [(None, True), ("", True), ("  ", True), ("NO_CONTENT", False), ("span_only", True), ("EVENT_ONLY", False),
     ("event_only", False), ("Span_And_Event", True), ("true", True), ("1", True), ("FALSE", False), ("0", False),
     (" no_content ", False), ("bogus", False)],
)
def test_from_env_capture_modes(value: str | None, capture: bool) -> None:
    environ = {} if value is None else {CAPTURE_ENV: value}
    assert PrivacySettings.from_env(environ).capture_content is capture


@pytest.mark.parametrize(
    ("configured", "env", "explicit", "expected"),
    [
        (True, None, None, True), (False, None, None, False), (False, "", None, False),  # unset or blank: settings
        (True, "NO_CONTENT", None, False), (True, "EVENT_ONLY", None, False), (False, "SPAN_ONLY", None, True),
        (False, "true", None, True), (True, "bogus", None, False),  # when set, the variable beats the settings
        (False, "SPAN_AND_EVENT", False, False), (True, "NO_CONTENT", True, True),  # the argument beats both
        (False, None, True, True), (True, None, False, False),
    ],
)
def test_capture_content_precedence(configured: bool, env: str | None, explicit: bool | None, expected: bool) -> None:
    environ = {} if env is None else {CAPTURE_ENV: env}
    settings = PrivacySettings(capture_content=configured, max_content_chars=77, redact_pii=False)
    resolved = resolve_capture_content(settings, explicit, environ=environ)
    assert resolved.capture_content is expected
    assert (resolved.max_content_chars, resolved.redact_pii) == (77, False)  # nothing else changes
    if expected is configured:
        assert resolved is settings


def test_capture_content_without_settings_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_ENV, "EVENT_ONLY")
    monkeypatch.setenv("AGENTS_HUB_REDACT_PII", "false")
    resolved = resolve_capture_content(None, None)
    assert (resolved.capture_content, resolved.redact_pii) == (False, False)
    assert resolve_capture_content(None, True).capture_content is True
    monkeypatch.delenv(CAPTURE_ENV)
    assert resolve_capture_content(None, None).capture_content is True  # unset: capture by default


def test_from_env_flags_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTS_HUB_REDACT_PII", "false")
    monkeypatch.setenv("AGENTS_HUB_REDACT_SECRETS", "TRUE")
    monkeypatch.setenv("AGENTS_HUB_PSEUDONYMIZATION_KEY", "k1")
    settings = PrivacySettings.from_env()
    assert (settings.redact_pii, settings.redact_secrets, settings.pseudonymize_ids) == (False, True, True)
    assert settings.pseudonymization_key == "k1"
    defaults = PrivacySettings.from_env({})
    assert (defaults.redact_pii, defaults.redact_secrets, defaults.pseudonymize_ids) == (True, True, False)


def test_scrub_attributes_allow_list_with_prefixes() -> None:
    scrubber = Scrubber(PrivacySettings(allowed_attributes=frozenset({"gen_ai.request.model", "app.*"})))
    scrubbed = scrubber.scrub_attributes({"gen_ai.request.model": "gpt-4o", "app.tier": "gold", "other": "x"})
    assert scrubbed == {"gen_ai.request.model": "gpt-4o", "app.tier": "gold"}


def test_content_is_dropped_when_capture_is_off_and_truncated_otherwise() -> None:
    attributes = {"gen_ai.input.messages": "hello " * 100, "gen_ai.usage.input_tokens": 5}
    off = Scrubber(PrivacySettings(capture_content=False)).scrub_attributes(attributes)
    assert off == {"gen_ai.usage.input_tokens": 5}
    on = Scrubber(PrivacySettings(max_content_chars=60)).scrub_attributes(attributes)
    assert len(on["gen_ai.input.messages"]) <= 60
    assert "…[truncated" in on["gen_ai.input.messages"]


def test_custom_content_keys_and_non_string_values() -> None:
    scrubber = Scrubber(PrivacySettings(capture_content=False), content_keys={"app.prompt"})
    scrubbed = scrubber.scrub_attributes({"app.prompt": "hi", "input.value": "a@example.com", "n": 4155552671})
    assert scrubbed == {"input.value": "[REDACTED:email]", "n": 4155552671}


def test_secret_at_the_truncation_edge_is_not_partially_leaked() -> None:
    scrubber = Scrubber(PrivacySettings(max_content_chars=60))
    scrubbed = scrubber.scrub_attributes({"output.value": "x" * 40 + " " + OPENAI_KEY + " tail" * 500})
    assert "sk-proj" not in scrubbed["output.value"] and "abc123" not in scrubbed["output.value"]


def test_ids_and_never_redact_keys_survive() -> None:
    attributes = {
        "gen_ai.conversation.id": "123e4567-e89b-12d3-a456-426614174000",
        "langfuse.trace.id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "server.address": "10.0.0.1",
        "gen_ai.usage.output_tokens": 4155552671,
        "session.id": "a@example.com",
    }
    assert Scrubber().scrub_attributes(attributes) == attributes


def test_user_ids_are_pseudonymised_when_enabled() -> None:
    settings = PrivacySettings(pseudonymize_ids=True, pseudonymization_key="k")
    scrubbed = Scrubber(settings).scrub_attributes({"user.id": "alice@example.com", "langfuse.user.id": 7})
    assert scrubbed == {"user.id": pseudonymize("alice@example.com", "k"), "langfuse.user.id": pseudonymize("7", "k")}
    assert Scrubber().scrub_attributes({"user.id": "alice@example.com"}) == {"user.id": "[REDACTED:email]"}


# --- attributes whose key names a secret -----------------------------------------------------------------
SECRET_KEYS = [
    "agents_hub.metadata.password", "agents_hub.metadata.api_key", "langfuse.trace.metadata.api_key",
    "agents_hub.metadata.PASSWORD", "agents_hub.metadata.API-KEY", "agents_hub.metadata.apiKey",
    "agents_hub.metadata.x-api-key", "agents_hub.metadata.db_password", "agents_hub.metadata.passwd",
    "agents_hub.metadata.pwd", "agents_hub.metadata.secret", "agents_hub.metadata.client-secret",
    "agents_hub.metadata.clientSecret", "agents_hub.metadata.token", "agents_hub.metadata.access_token",
    "agents_hub.metadata.accessToken", "agents_hub.metadata.session_token", "agents_hub.metadata.refreshtoken",
    "agents_hub.metadata.access_key", "agents_hub.metadata.private_key", "agents_hub.metadata.Authorization",
    "http.request.header.authorization", "agents_hub.metadata.auth", "agents_hub.metadata.basic_auth",
    "agents_hub.metadata.credential", "agents_hub.metadata.credentials", "agents_hub.metadata.cookie",
    "http.response.header.set-cookie", "agents_hub.metadata.passphrase", "password",
]
# Token COUNTS and other near misses are not secrets.
NOT_SECRET_KEYS = [
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens", "gen_ai.request.max_tokens",
    "gen_ai.token.type", "gen_ai.client.inference.usage.input_tokens", "agents_hub.metadata.max_tokens",
    "agents_hub.metadata.maxTokens", "agents_hub.metadata.total_tokens", "agents_hub.metadata.input_token",
    "agents_hub.metadata.max_token", "agents_hub.metadata.token_count", "agents_hub.metadata.tokenizer",
    "agents_hub.metadata.tokens", "agents_hub.metadata.author", "agents_hub.metadata.oauth_provider",
    "agents_hub.metadata.secretary", "agents_hub.metadata.passenger", "agents_hub.metadata.keyword",
    "agents_hub.metadata.key", "agents_hub.metadata.password_policy", "gen_ai.conversation.id", "session.id",
    "agents_hub.tags", "gen_ai.tool.name",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_values_of_secret_named_attributes_are_redacted_whole(key: str) -> None:
    scrubber = Scrubber()
    for value in ("hunter2", "q8Zr4mXw2Lp9", 123456, 1.5, ("a", "b")):
        assert scrubber.scrub_attributes({key: value}) == {key: "[REDACTED:secret]"}, value


@pytest.mark.parametrize("key", NOT_SECRET_KEYS)
def test_token_counts_and_near_misses_are_not_secret_names(key: str) -> None:
    attributes = {key: 4096, f"{key}.x": "plain words"}
    assert Scrubber().scrub_attributes(attributes) == attributes
    assert Scrubber().scrub_attributes({key: "plain words"}) == {key: "plain words"}


def test_secret_names_follow_the_secret_switch_and_never_redact_keys() -> None:
    attributes = {"agents_hub.metadata.password": "hunter2", "agents_hub.metadata.auth": True}
    assert Scrubber().scrub_attributes(attributes) == {  # a bool holds no secret
        "agents_hub.metadata.password": "[REDACTED:secret]", "agents_hub.metadata.auth": True}
    assert Scrubber(PrivacySettings(redact_secrets=False)).scrub_attributes(attributes) == attributes
    keep = PrivacySettings(never_redact_keys=frozenset({"agents_hub.metadata.password"}))
    assert Scrubber(keep).scrub_attributes(attributes) == attributes  # an explicit exemption wins
    marker = PrivacySettings(redaction_text="<hidden>")
    assert Scrubber(marker).scrub_attributes({"app.token": "t"}) == {"app.token": "<hidden>"}


def test_secrets_in_conversation_metadata_never_reach_the_exporter() -> None:
    from agents_hub_monitoring.testing import capture

    metadata = {"password": "hunter2", "api_key": "q8Zr4mXw2Lp9", "tier": "gold", "max_tokens": 512}
    with capture() as (monitor, telemetry):
        with monitor.conversation("c-1", metadata=metadata), monitor.tool_call("lookup"):
            pass
        (span,) = telemetry.spans()
    attributes = span["attributes"]
    assert attributes["agents_hub.metadata.password"] == "[REDACTED:secret]"
    assert attributes["agents_hub.metadata.api_key"] == "[REDACTED:secret]"
    assert (attributes["agents_hub.metadata.tier"], attributes["agents_hub.metadata.max_tokens"]) == ("gold", 512)
    assert "hunter2" not in repr(span) and "q8Zr4mXw2Lp9" not in repr(span)


# --- length caps on non-content attributes and span names --------------------------------------------------
def test_long_non_content_strings_are_cut_to_max_attribute_chars() -> None:
    assert PrivacySettings().max_attribute_chars == 4096
    huge = "x" * 2_000_000
    attributes = {"agents_hub.metadata.note": huge, "gen_ai.agent.name": huge, "gen_ai.request.model": huge,
                  "agents_hub.tags": ("ok", huge), "gen_ai.input.messages": "m" * 8000, "n": 7,
                  "short": "y" * 4096}
    scrubbed = Scrubber().scrub_attributes(attributes)
    for key in ("agents_hub.metadata.note", "gen_ai.agent.name", "gen_ai.request.model"):
        assert len(scrubbed[key]) == 4096 and scrubbed[key].endswith("…[truncated 1995930 chars]"), key
    assert scrubbed["agents_hub.tags"][0] == "ok" and len(scrubbed["agents_hub.tags"][1]) == 4096
    assert scrubbed["gen_ai.input.messages"] == "m" * 8000  # content has its own limit, max_content_chars
    assert (scrubbed["n"], scrubbed["short"]) == (7, "y" * 4096)
    small = Scrubber(PrivacySettings(max_attribute_chars=30)).scrub_attributes({"a": "z" * 31, "b": ["z" * 40]})
    assert small == {"a": "z" * 9 + "…[truncated 22 chars]", "b": ["z" * 9 + "…[truncated 31 chars]"]}


def test_secret_at_the_attribute_cut_is_not_partially_leaked() -> None:
    scrubber = Scrubber(PrivacySettings(max_attribute_chars=60))
    scrubbed = scrubber.scrub_attributes({"note": "x" * 40 + " " + OPENAI_KEY + " tail" * 500})
    assert "sk-proj" not in scrubbed["note"] and "abc123" not in scrubbed["note"]
    assert len(scrubbed["note"]) <= 60


def test_long_span_names_are_cut_and_short_ones_kept() -> None:
    scrubber = Scrubber()
    span = ReadableSpan(name="chat " + "m" * 5000, attributes={"n": 1})
    scrubbed = scrubber.scrub_span(span)
    assert len(scrubbed.name) == 1024 and scrubbed.name.startswith("chat mmm") and "…[truncated" in scrubbed.name
    assert scrubbed.attributes == {"n": 1} and scrubbed.context == span.context
    short = ReadableSpan(name="c" * 1024, attributes={"n": 1})
    assert scrubber.scrub_span(short) is short


@pytest.fixture
def pipeline() -> Iterator[tuple[Any, InMemorySpanExporter, ScrubbingSpanExporter]]:
    memory = InMemorySpanExporter()
    exporter = ScrubbingSpanExporter(memory, Scrubber(PrivacySettings()))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("tests"), memory, exporter
    provider.shutdown()


def test_secret_in_nested_tool_argument_is_redacted_in_exported_span(pipeline: Any) -> None:
    tracer, memory, _ = pipeline
    arguments = {"config": {"auth": {"api_key": OPENAI_KEY}}, "notify": ["ops@example.com"]}
    with tracer.start_as_current_span("execute_tool") as span:
        span.set_attribute("gen_ai.tool.call.arguments", dumps(arguments))
        span.set_attribute("gen_ai.conversation.id", "550e8400-e29b-41d4-a716-446655440000")
        trace_id = span.get_span_context().trace_id
    (exported,) = memory.get_finished_spans()
    tool_arguments = exported.attributes["gen_ai.tool.call.arguments"]
    assert OPENAI_KEY not in tool_arguments and "ops@example.com" not in tool_arguments
    assert '"api_key":"[REDACTED:openai_key]"' in tool_arguments
    assert exported.attributes["gen_ai.conversation.id"] == "550e8400-e29b-41d4-a716-446655440000"
    assert exported.context.trace_id == trace_id


def test_exception_events_and_status_are_redacted(pipeline: Any) -> None:
    tracer, memory, _ = pipeline
    with tracer.start_as_current_span("llm") as span:
        try:
            raise RuntimeError(f"auth failed for {OPENAI_KEY}")
        except RuntimeError as error:
            span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, "user bob@example.com was rejected"))
    (exported,) = memory.get_finished_spans()
    (event,) = exported.events
    assert OPENAI_KEY not in event.attributes["exception.message"]
    assert OPENAI_KEY not in event.attributes["exception.stacktrace"]
    assert event.attributes["exception.type"] == "RuntimeError"
    assert exported.status.status_code is StatusCode.ERROR
    assert exported.status.description == "user [REDACTED:email] was rejected"


def test_scrubbed_span_keeps_identity_fields_and_clean_span_is_reused(pipeline: Any) -> None:
    tracer, memory, _ = pipeline
    with tracer.start_as_current_span("parent"), tracer.start_as_current_span("child") as span:
        span.set_attribute("note", "mail a@example.com")
        span.add_link(span.get_span_context(), {"k": "v"})
    child, parent = memory.get_finished_spans()
    original = span  # the SDK span object the processor saw
    assert child.name == "child" and child.kind == original.kind
    assert child.context == original.context and child.parent == original.parent
    assert (child.start_time, child.end_time) == (original.start_time, original.end_time)
    assert child.resource is original.resource
    assert child.instrumentation_scope == original.instrumentation_scope
    assert len(child.links) == 1
    assert child.attributes["note"] == "mail [REDACTED:email]"
    scrubber = Scrubber()
    assert scrubber.scrub_span(parent) is parent


class FailingScrubber(Scrubber):
    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        if span.name == "poison":
            raise RuntimeError(f"cannot scrub {OPENAI_KEY}")
        return super().scrub_span(span)


def _span(name: str) -> ReadableSpan:
    return ReadableSpan(name=name, attributes={"note": "a@example.com"})


def test_failing_scrub_drops_only_that_span_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    memory = InMemorySpanExporter()
    exporter = ScrubbingSpanExporter(memory, FailingScrubber())
    with caplog.at_level(logging.WARNING):
        result = exporter.export([_span("ok-1"), _span("poison"), _span("ok-2")])
        exporter.export([_span("poison")])
    assert result is SpanExportResult.SUCCESS
    assert [span.name for span in memory.get_finished_spans()] == ["ok-1", "ok-2"]
    assert exporter.dropped_spans == 2
    warnings = [record for record in caplog.records if "scrubbing failed" in record.getMessage()]
    assert len(warnings) == 1  # rate limited
    assert OPENAI_KEY not in caplog.text  # the error message may quote protected content


class ExplodingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("backend down")

    def shutdown(self) -> None:
        raise RuntimeError("shutdown failed")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        raise RuntimeError("flush failed")


def test_exporter_never_raises_and_delegates() -> None:
    exporter = ScrubbingSpanExporter(ExplodingExporter(), Scrubber())
    assert exporter.export([_span("x")]) is SpanExportResult.FAILURE
    assert exporter.force_flush() is False
    exporter.shutdown()
    memory = InMemorySpanExporter()
    delegating = ScrubbingSpanExporter(memory, Scrubber())
    assert delegating.force_flush(10) is True
    delegating.shutdown()
    assert delegating.export([_span("late")]) is SpanExportResult.FAILURE  # inner refuses after shutdown


@pytest.mark.parametrize("fast", [True, False], ids=["field-copy", "constructor"])
def test_a_scrubbed_copy_keeps_everything_but_what_it_redacts(fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # The scrubber copies a span it changes field by field (or, on an SDK whose objects look
    # different, through ReadableSpan(...)): the copy must still carry the SDK's dropped counts,
    # events, links, status, times and its own context.
    from opentelemetry.sdk.trace import SpanLimits
    from opentelemetry.trace import Link

    from agents_hub_monitoring.telemetry import span_copy

    monkeypatch.setattr(span_copy, "_FAST", fast)

    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=3, max_events=1))
    recorded = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(recorded))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("other") as other:
        pass
    with tracer.start_as_current_span("s", links=[Link(other.get_span_context(), {"k": "v"})]) as span:
        span.set_attributes({"a": 1, "b": 2, "c": 3, "d": "mail bob@example.com"})  # "a" is dropped
        span.add_event("first")  # dropped: one event at most, the latest
        span.add_event("second", {"note": "call +1 415 555 0100"})
        span.set_status(Status(StatusCode.ERROR, "failed for bob@example.com"))
    original = recorded.get_finished_spans()[1]
    copy = Scrubber(PrivacySettings()).scrub_span(original)
    assert copy is not original
    assert copy.dropped_attributes == original.dropped_attributes == 1
    assert copy.dropped_events == original.dropped_events == 1
    assert dict(copy.attributes) == {"b": 2, "c": 3, "d": "mail [REDACTED:email]"}
    assert "415" not in copy.events[0].attributes["note"] and copy.events[0].name == "second"
    assert copy.status.description == "failed for [REDACTED:email]"
    assert copy.links == original.links and copy.dropped_links == 0
    assert (copy.context, copy.parent, copy.start_time, copy.end_time, copy.kind, copy.resource) == (
        original.context, original.parent, original.start_time, original.end_time, original.kind,
        original.resource)
    assert dict(original.attributes)["d"] == "mail bob@example.com"  # the original is left alone
