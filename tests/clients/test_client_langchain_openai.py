"""langchain-openai (ChatOpenAI, OpenAIEmbeddings) against a live corral's /v1 API.

The tiny random-weight model cannot choose to call a tool or write JSON, so the tool test names
the tool in ``tool_choice`` (corral then forces one call with a JSON schema) and the structured
output test uses the json_schema method; langchain's own parsing of the replies is what is tested.
"""

from __future__ import annotations

import asyncio
import functools
import operator
from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from pydantic import BaseModel, SecretStr

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration


@tool
def get_weather(city: Literal["Paris", "Rome"]) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


class Verdict(BaseModel):
    """What the structured-output test asks for."""

    ok: bool
    size: Literal["S", "M", "L"]


def _chat(server: LiveServer, model: str = "tiny", **kwargs: Any) -> ChatOpenAI:
    settings: dict[str, Any] = {"temperature": 0, "max_tokens": 4, "seed": 1, "max_retries": 0}
    return ChatOpenAI(
        base_url=server.base_url + "/v1", api_key=SecretStr("unused"), model=model, **{**settings, **kwargs}
    )


def test_invoke_and_stream(tiny_server: LiveServer) -> None:
    llm = _chat(tiny_server)
    whole = llm.invoke([HumanMessage("hi")])
    assert isinstance(whole, AIMessage) and isinstance(whole.content, str) and whole.content
    assert whole.response_metadata["finish_reason"] == "length"
    assert whole.usage_metadata is not None and whole.usage_metadata["output_tokens"] == 4
    chunks = list(_chat(tiny_server, stream_usage=True).stream([HumanMessage("hi")]))
    joined = functools.reduce(operator.add, chunks)
    assert isinstance(joined, AIMessageChunk) and joined.content == whole.content
    assert joined.usage_metadata is not None and joined.usage_metadata["output_tokens"] == 4

    async def main() -> str:
        reply = await llm.ainvoke("hi")
        return str(reply.content)

    assert asyncio.run(main()) == whole.content


def test_bind_tools_round_trip(tiny_server: LiveServer) -> None:
    llm = _chat(tiny_server, "tiny-tools", max_tokens=60)
    messages: list[Any] = [HumanMessage("weather in Rome?")]
    reply = llm.bind_tools([get_weather], tool_choice="get_weather").invoke(messages)
    assert isinstance(reply, AIMessage)
    [call] = reply.tool_calls
    assert call["name"] == "get_weather" and call["args"]["city"] in ("Paris", "Rome") and call["id"]
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    messages += [reply, ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])]
    answer = llm.bind_tools([get_weather]).invoke(messages, max_tokens=4)
    assert isinstance(answer.content, str) and answer.content and not answer.tool_calls


def test_with_structured_output(tiny_server: LiveServer) -> None:
    structured = _chat(tiny_server, max_tokens=40).with_structured_output(Verdict, method="json_schema")
    verdict = structured.invoke("is it big?")
    assert isinstance(verdict, Verdict) and verdict.size in ("S", "M", "L")


def test_openai_embeddings(tiny_server: LiveServer) -> None:
    # check_embedding_ctx_length=False: send text, not tiktoken token arrays (tiktoken would also
    # download its encodings, and corral does not take token-array input).
    emb = OpenAIEmbeddings(
        base_url=tiny_server.base_url + "/v1",
        api_key=SecretStr("unused"),
        model="tiny-embed",
        check_embedding_ctx_length=False,
    )
    docs = emb.embed_documents(["hello", "world"])
    assert len(docs) == 2 and all(len(v) == 64 for v in docs)
    assert emb.embed_query("hello") == pytest.approx(docs[0], abs=1e-6)
