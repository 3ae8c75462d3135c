"""langchain-anthropic (ChatAnthropic) against a live corral's ``/v1/messages``.

The tiny random-weight model cannot choose to call a tool or write JSON, so the tool test names
the tool in ``tool_choice`` (corral forces one call with a JSON schema); what is tested is
langchain's own parsing of corral's replies and streamed events.
"""

from __future__ import annotations

import asyncio
import functools
import operator
from typing import Any, Literal

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import SecretStr

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration


@tool
def get_weather(city: Literal["Paris", "Rome"]) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _chat(server: LiveServer, model: str = "tiny", **kwargs: Any) -> ChatAnthropic:
    settings: dict[str, Any] = {"max_tokens": 4, "max_retries": 0, "top_k": 1}
    return ChatAnthropic(  # type: ignore[call-arg]
        base_url=server.base_url, api_key=SecretStr("unused"), model=model, **{**settings, **kwargs}
    )


def test_invoke_and_stream(tiny_server: LiveServer) -> None:
    llm = _chat(tiny_server)
    whole = llm.invoke([HumanMessage("hi")])
    assert isinstance(whole, AIMessage) and isinstance(whole.content, str) and whole.content
    assert whole.response_metadata["stop_reason"] == "max_tokens"
    assert whole.usage_metadata is not None and whole.usage_metadata["output_tokens"] == 4
    chunks = list(llm.stream([HumanMessage("hi")]))
    joined = functools.reduce(operator.add, chunks)
    assert isinstance(joined, AIMessageChunk)
    assert "".join(b["text"] if isinstance(b, dict) else b for b in joined.content) == whole.content
    assert joined.usage_metadata is not None and joined.usage_metadata["output_tokens"] == 4

    async def main() -> str:
        reply = await llm.ainvoke("hi")
        return str(reply.content)

    assert asyncio.run(main()) == whole.content


def test_tool_call_round_trip(tiny_server: LiveServer) -> None:
    llm = _chat(tiny_server, "tiny-tools", max_tokens=60)
    forced = llm.bind_tools([get_weather], tool_choice="get_weather")
    question = HumanMessage("weather in Rome?")
    reply = forced.invoke([question])
    [call] = reply.tool_calls
    assert call["name"] == "get_weather" and call["args"]["city"] in ("Paris", "Rome") and call["id"]
    result = get_weather.invoke(call)
    assert isinstance(result, ToolMessage) and result.tool_call_id == call["id"]
    answer = _chat(tiny_server, "tiny-tools").bind_tools([get_weather]).invoke([question, reply, result])
    assert answer.content and not answer.tool_calls
