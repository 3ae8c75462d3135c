"""langchain-ollama against a live corral: ChatOllama (invoke, stream, tools, structured output) and
OllamaEmbeddings.

Tools with a random-weight model: the tiny model cannot choose to call a tool, so the tool test sends
a JSON schema ``format`` that only admits one call, ``{"name": "get_weather", "arguments": {"city":
"Paris"}}``. The model still generates every token (llama.cpp's grammar picks among the tokens the
schema allows), and the rest is the real path: langchain sends ``tools``; corral renders them with
a template that shows ``.Tools``; corral's tool-call parser finds the call in the model's output and
answers ``message.tool_calls``; langchain turns that into ``AIMessage.tool_calls``. What this cannot
show is a model deciding to call a tool, which is the model's business, not the API's.
"""

from __future__ import annotations

import asyncio
import functools
import operator
from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_ollama import ChatOllama, OllamaEmbeddings
from pydantic import BaseModel

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

GREEDY: dict[str, Any] = {"temperature": 0, "top_k": 1, "num_predict": 4}


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


ONLY_CALL = {
    "type": "object",
    "properties": {
        "name": {"const": "get_weather"},
        "arguments": {
            "type": "object",
            "properties": {"city": {"enum": ["Paris"]}},
            "required": ["city"],
        },
    },
    "required": ["name", "arguments"],
}
"""A ``format`` that admits exactly one tool call (up to whitespace)."""


class Verdict(BaseModel):
    """What the structured-output test asks for."""

    answer: Literal["yes", "no"]


def _chat(server: LiveServer, model: str = "tiny", **kwargs: Any) -> ChatOllama:
    return ChatOllama(base_url=server.base_url, model=model, **{**GREEDY, **kwargs})


def test_invoke_matches_the_native_api(tiny_server: LiveServer) -> None:
    msg = _chat(tiny_server, validate_model_on_init=True).invoke("hello")
    native = tiny_server.client.post(
        "/api/chat",
        json={
            "model": "tiny",
            "messages": [{"role": "user", "content": "hello"}],
            # A seed evaluates the prompt from scratch: prompt_eval_count counts evaluated tokens,
            # and the prompt is in the KV cache since the call above.
            "options": {**GREEDY, "seed": 1},
            "stream": False,
        },
    ).json()
    assert isinstance(msg, AIMessage) and msg.content == native["message"]["content"]
    assert msg.response_metadata["done_reason"] == "length" and msg.response_metadata["model"] == "tiny"
    assert msg.usage_metadata is not None and msg.usage_metadata["output_tokens"] == 4
    assert msg.usage_metadata["input_tokens"] == native["prompt_eval_count"]


def test_stream_and_async_stream_join_to_the_invoke_answer(tiny_server: LiveServer) -> None:
    llm = _chat(tiny_server)
    whole = llm.invoke([HumanMessage("hi")])
    chunks = list(llm.stream([HumanMessage("hi")]))
    assert len(chunks) > 1 and all(isinstance(c, AIMessageChunk) for c in chunks)
    joined = functools.reduce(operator.add, chunks)
    assert joined.content == whole.content and joined.response_metadata["done_reason"] == "length"
    assert joined.usage_metadata is not None and joined.usage_metadata["output_tokens"] == 4

    async def collect() -> str:
        return "".join([str(c.content) async for c in llm.astream([HumanMessage("hi")])])

    assert asyncio.run(collect()) == whole.content


def test_tool_call_round_trip(tiny_server: LiveServer) -> None:
    llm = _chat(tiny_server, model="tiny-tools", num_predict=128, format=ONLY_CALL).bind_tools([get_weather])
    msg = llm.invoke("What is the weather in Paris?")
    assert msg.content == ""
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert msg.response_metadata["done_reason"] == "stop"

    # The call and the tool's answer go back as history: corral renders assistant tool calls and a
    # tool message, and answers with plain content (no format, no call this time).
    # seed: evaluated from scratch, so input_tokens is the whole (longer) prompt, not the uncached part.
    follow = _chat(tiny_server, model="tiny-tools", seed=1).bind_tools([get_weather])
    result = get_weather.invoke(msg.tool_calls[0])
    assert isinstance(result, ToolMessage)
    answer = follow.invoke([HumanMessage("What is the weather in Paris?"), msg, result])
    assert answer.response_metadata["done_reason"] == "length" and answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] > msg.usage_metadata["input_tokens"]  # type: ignore[index]


def test_tools_on_a_model_without_the_capability_are_refused(tiny_server: LiveServer) -> None:
    with pytest.raises(Exception, match="does not support tools"):
        _chat(tiny_server).bind_tools([get_weather]).invoke("weather?")


def test_structured_output_is_valid_json_from_a_random_model(tiny_server: LiveServer) -> None:
    llm = _chat(tiny_server, num_predict=64).with_structured_output(Verdict, method="json_schema")
    verdict = llm.invoke("Is Paris in France?")
    assert isinstance(verdict, Verdict) and verdict.answer in ("yes", "no")


def test_ollama_embeddings_match_the_native_api(tiny_server: LiveServer) -> None:
    emb = OllamaEmbeddings(base_url=tiny_server.base_url, model="tiny-embed")
    docs = emb.embed_documents(["hello world", "goodbye"])
    native = tiny_server.client.post(
        "/api/embed", json={"model": "tiny-embed", "input": ["hello world", "goodbye"]}
    ).json()["embeddings"]
    # Inputs batched as sequences: llama.cpp's arithmetic varies in the last bits.
    assert len(docs) == len(native) == 2 and len(docs[0]) == 64
    for got, want in zip(docs, native, strict=True):
        assert got == pytest.approx(want, abs=1e-5)
    assert emb.embed_query("hello world") == pytest.approx(docs[0], abs=1e-5)
    assert abs(sum(x * x for x in docs[1]) - 1.0) < 1e-4
