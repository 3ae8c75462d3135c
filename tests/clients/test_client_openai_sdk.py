"""The official ``openai`` Python SDK (sync and async) against a live corral's /v1 API.

The tiny random-weight model writes gibberish, so the tool and structured-output tests constrain
it: ``tool_choice`` naming a function (or ``required``) makes corral force one call with a JSON
schema, and ``parse`` sends a strict json_schema. The model still picks every token (among those
the schema allows); what is tested is the real wire path through the SDK's own parsing.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import openai
import pytest
from pydantic import BaseModel

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

HI: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


class Weather(BaseModel):
    """get_weather's arguments (a strict function tool)."""

    city: Literal["Paris", "Rome"]


class Verdict(BaseModel):
    """The structured answer the parse test asks for."""

    ok: bool
    size: Literal["S", "M", "L"]


@pytest.fixture(scope="module")
def client(tiny_server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=tiny_server.base_url + "/v1", api_key="unused", max_retries=0)


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"tiny-tools:latest", "tiny:latest"} <= ids
    model = client.models.retrieve("tiny")
    assert model.id == "tiny" and model.owned_by == "library" and model.object == "model"
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("nope")
    assert err.value.status_code == 404 and "model 'nope:latest' not found" in err.value.message


def test_chat_sync_and_streaming(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="tiny", messages=HI, max_tokens=4, temperature=0, seed=1)
    assert whole.choices[0].finish_reason == "length" and whole.usage and whole.usage.completion_tokens == 4
    assert whole.system_fingerprint == "fp_ollama" and whole.id.startswith("chatcmpl-")
    chunks = list(
        client.chat.completions.create(
            model="tiny",
            messages=HI,
            max_tokens=4,
            temperature=0,
            seed=1,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=HI)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="tiny", messages=[])
    assert "[] is too short - 'messages'" in err.value.message


def test_n_and_logprobs(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model="tiny", messages=HI, max_tokens=3, n=2, seed=5, logprobs=True, top_logprobs=2
    )
    assert [c.index for c in out.choices] == [0, 1]
    for choice in out.choices:
        assert choice.logprobs and choice.logprobs.content and len(choice.logprobs.content) == 3
        assert all(len(t.top_logprobs) == 2 and t.bytes for t in choice.logprobs.content)


def test_legacy_completions(client: openai.OpenAI) -> None:
    whole = client.completions.create(model="tiny", prompt="once", max_tokens=3, temperature=0, seed=2)
    assert whole.object == "text_completion" and whole.choices[0].finish_reason == "length"
    parts = list(
        client.completions.create(
            model="tiny", prompt="once", max_tokens=3, temperature=0, seed=2, stream=True
        )
    )
    assert "".join(p.choices[0].text for p in parts) == whole.choices[0].text


def test_tool_round_trip(client: openai.OpenAI) -> None:
    tools = [openai.pydantic_function_tool(Weather, name="get_weather", description="The weather in a city.")]
    messages: list[Any] = [*HI, {"role": "user", "content": "weather in Rome?"}]
    first = client.chat.completions.parse(
        model="tiny-tools",
        messages=messages,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=60,
        temperature=0,
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.function.name == "get_weather"
    assert isinstance(call.function.parsed_arguments, Weather)
    assert json.loads(call.function.arguments) == call.function.parsed_arguments.model_dump()
    # The tool's result goes back with the assistant message; the model answers in text.
    messages += [
        choice.message.model_dump(exclude_none=True, exclude={"parsed"}),
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": f"sunny in {call.function.parsed_arguments.city}",
        },
    ]
    answer = client.chat.completions.create(
        model="tiny-tools", messages=messages, tools=tools, max_tokens=4, temperature=0
    )
    assert answer.choices[0].message.content and not answer.choices[0].message.tool_calls


def test_structured_output_parse(client: openai.OpenAI) -> None:
    out = client.chat.completions.parse(
        model="tiny", messages=HI, response_format=Verdict, max_tokens=40, temperature=0
    )
    parsed = out.choices[0].message.parsed
    assert isinstance(parsed, Verdict) and parsed.size in ("S", "M", "L")


def test_async_client_streams(tiny_server: LiveServer) -> None:
    async def main() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=tiny_server.base_url + "/v1", api_key="x") as ac:
            whole = await ac.chat.completions.create(model="tiny", messages=HI, max_tokens=4, temperature=0)
            stream = await ac.chat.completions.create(
                model="tiny", messages=HI, max_tokens=4, temperature=0, stream=True
            )
            pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return whole.choices[0].message.content or "", "".join(pieces)

    whole, streamed = asyncio.run(main())
    assert whole and whole == streamed


def test_embeddings_float_and_base64(client: openai.OpenAI) -> None:
    # The SDK asks for base64 unless told otherwise and decodes it itself.
    b64 = client.embeddings.create(model="tiny-embed", input=["hello", "world"])
    floats = client.embeddings.create(model="tiny-embed", input=["hello", "world"], encoding_format="float")
    assert [d.index for d in b64.data] == [0, 1] and len(b64.data[0].embedding) == 64
    for a, b in zip(b64.data, floats.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-6)
    assert b64.usage.prompt_tokens > 0
    short = client.embeddings.create(model="tiny-embed", input="hello", dimensions=8, encoding_format="float")
    assert len(short.data[0].embedding) == 8
