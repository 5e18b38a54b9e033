"""Decorators on every call shape, printed as trace trees by the console monitor.

An agent (a class) plans with a streamed LLM call, runs two tools concurrently (one sync in a
thread pool, one async), retrieves documents with a generator, and one tool fails. No keys and
no servers: the "LLM" is a local generator of OpenAI-style chunks.

Run: python examples/decorators.py
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agents_hub_monitoring import ConsoleMonitor
from agents_hub_monitoring.instrument import agent, instrument_threads, set_default_monitor, tool


# Module-level decorators use the default monitor, looked up at call time: decorating comes first.
@tool
def convert(amount: float, rate: float) -> float:
    """Convert an amount with an exchange rate."""
    time.sleep(0.01)
    return round(amount * rate, 2)


@tool(name="weather")
async def weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    await asyncio.sleep(0.01)
    return {"city": city, "forecast": "sunny", "celsius": 24}


@tool
def book_hotel(city: str, nights: int) -> str:
    """Book a hotel."""
    raise ConnectionError("booking service unavailable")


@agent(methods=("plan", "arun"))
class TravelAgent:
    """Instrumented as agent runs: ``TravelAgent.plan`` and ``TravelAgent`` (arun)."""

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        self.llm = monitor.llm(model="gpt-4o-mini", provider="openai")(self._stream_reply)
        self.search = monitor.retrieval(name="travel-kb")(self._search)

    def _stream_reply(self, messages: list[dict[str, str]], temperature: float = 0.2) -> Any:
        for text in ("Lisbon: ", "sunny, ", "cheap."):
            time.sleep(0.005)
            yield {"model": "gpt-4o-mini-2024-07-18", "choices": [{"delta": {"content": text}, "finish_reason": None}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 42, "completion_tokens": 6}}

    def _search(self, query: str) -> Any:
        yield {"text": "Lisbon in May", "score": 0.92}
        yield {"text": "Porto by train", "score": 0.71}

    def plan(self, question: str) -> str:
        chunks = self.llm(messages=[{"role": "user", "content": question}])
        reply = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
        documents = list(self.search(question))
        return f"{reply} ({len(documents)} sources)"

    async def arun(self, question: str) -> str:
        plan = self.plan(question)
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:  # instrument_threads(): these spans join the trace
            euros, forecast = await asyncio.gather(loop.run_in_executor(pool, convert, 500, 0.92),
                                                   weather("Lisbon"))
        with contextlib.suppress(ConnectionError):  # recorded on the tool's span as error.type
            book_hotel("Lisbon", 3)
        return f"{plan}; budget {euros} EUR; {forecast['forecast']}"


async def main() -> None:
    monitor = ConsoleMonitor(log_level="INFO", include_timestamps=False, show_summary_at_shutdown=False, use_rich=False)
    set_default_monitor(monitor)
    instrument_threads()
    async with monitor.conversation("trip-42", user_id="ana"):
        answer = await TravelAgent(monitor).arun("Where should I go in May?")
    print(answer)
    monitor.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
