"""What the OpenAI and Anthropic SDK test modules share (registered as a plugin in ``conftest.py``).

``server`` is one fake LLM server per test module. ``sdk_clients``/``async_sdk_clients`` give a
``make(prefix="")`` that builds SDK clients on it (``prefix="/fail/500"`` for an error answer) and
close them all when the fixture ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Generic, TypeVar

import pytest
from llm_servers import FakeLLMServer

__all__ = ["async_sdk_clients", "only_span", "openai_async_client", "openai_sync_client", "sdk_clients", "server"]

C = TypeVar("C")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as running:
        yield running


class _Clients(Generic[C]):
    def __init__(self, client_class: Callable[..., C], server: FakeLLMServer, path: str, api_key: str) -> None:
        self._client_class, self._server, self._path, self._api_key = client_class, server, path, api_key
        self.made: list[Any] = []  # closed by duck typing: sync close() or async close()

    def __call__(self, prefix: str = "") -> C:
        # No retries: each test sees each failure exactly once.
        client = self._client_class(base_url=f"{self._server.url}{prefix}{self._path}", api_key=self._api_key,
                                    max_retries=0)
        self.made.append(client)
        return client


@contextmanager
def sdk_clients(client_class: Callable[..., C], server: FakeLLMServer, *, path: str = "",
                api_key: str) -> Iterator[Callable[..., C]]:
    """Sync clients (``openai.OpenAI``...) whose base URL is the server's URL, then ``prefix``, then ``path``."""
    clients = _Clients(client_class, server, path, api_key)
    yield clients
    for client in clients.made:
        client.close()


@asynccontextmanager
async def async_sdk_clients(client_class: Callable[..., C], server: FakeLLMServer, *, path: str = "",
                            api_key: str) -> AsyncIterator[Callable[..., C]]:
    """Like ``sdk_clients`` for the async clients (``openai.AsyncOpenAI``...), closed by awaiting."""
    clients = _Clients(client_class, server, path, api_key)
    yield clients
    for client in clients.made:
        await client.close()


def only_span(telemetry: Any) -> dict[str, Any]:
    spans = telemetry.spans()
    assert len(spans) == 1, [s["name"] for s in spans]
    return spans[0]


@pytest.fixture
def openai_sync_client(server: FakeLLMServer) -> Iterator[Callable[..., Any]]:
    """``make(prefix="")`` for ``openai.OpenAI`` clients on the fake server, closed afterwards."""
    import openai  # only the OpenAI test modules pay for the import

    with sdk_clients(openai.OpenAI, server, path="/v1", api_key="sk-test") as make:
        yield make


@pytest.fixture
async def openai_async_client(server: FakeLLMServer) -> AsyncIterator[Callable[..., Any]]:
    """Like ``openai_sync_client`` for ``openai.AsyncOpenAI``."""
    import openai

    async with async_sdk_clients(openai.AsyncOpenAI, server, path="/v1", api_key="sk-test") as make:
        yield make
