"""The official ``anthropic`` Python SDK against a live corral's ``/v1/messages``.

The tiny random-weight model writes gibberish, so the tool test forces the call with
``tool_choice`` (corral constrains the output to one call with a JSON schema); greedy sampling
(``extra_body=GREEDY``) makes the streamed and whole answers comparable.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

HI: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
GREEDY = {"top_k": 1}
"""Sampling fields the 2026 SDK no longer has as arguments; corral still reads them."""
WEATHER: anthropic.types.ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def client(tiny_server: LiveServer) -> anthropic.Anthropic:
    # The SDK sends the key as x-api-key; corral must not reject that header.
    return anthropic.Anthropic(base_url=tiny_server.base_url, api_key="unused", max_retries=0)


def test_create_whole_and_streamed(client: anthropic.Anthropic) -> None:
    whole = client.messages.create(
        model="tiny", max_tokens=5, messages=HI, extra_body=GREEDY, system="be brief"
    )
    assert whole.id.startswith("msg_") and whole.model == "tiny" and whole.role == "assistant"
    assert whole.stop_reason == "max_tokens" and whole.stop_sequence is None
    assert whole.usage.output_tokens == 5 and whole.usage.input_tokens > 0
    [block] = whole.content
    assert block.type == "text" and block.text
    with client.messages.stream(
        model="tiny", max_tokens=5, messages=HI, extra_body=GREEDY, system="be brief"
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == block.text
    assert final.stop_reason == "max_tokens" and final.usage == whole.usage
    assert [b.type for b in final.content] == ["text"]


def test_stop_sequence_is_named(client: anthropic.Anthropic) -> None:
    whole = client.messages.create(model="tiny", max_tokens=12, messages=HI, extra_body=GREEDY)
    text = whole.content[0].text  # type: ignore[union-attr]
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert stop.strip(), "the tiny model's greedy answer is expected to hold a visible pair of characters"
    cut = client.messages.create(
        model="tiny", max_tokens=12, messages=HI, extra_body=GREEDY, stop_sequences=[stop]
    )
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == stop
    assert cut.content[0].text == text[: text.index(stop)]  # type: ignore[union-attr]
    assert cut.usage.input_tokens == whole.usage.input_tokens
    with client.messages.stream(
        model="tiny", max_tokens=12, messages=HI, extra_body=GREEDY, stop_sequences=[stop]
    ) as stream:
        assert "".join(stream.text_stream) == text[: text.index(stop)]
        final = stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == stop


def test_tool_round_trip(client: anthropic.Anthropic) -> None:
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "weather in Rome?"}]
    first = client.messages.create(
        model="tiny-tools",
        max_tokens=60,
        messages=messages,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        extra_body=GREEDY,
    )
    assert first.stop_reason == "tool_use"
    [call] = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.id and call.input in ({"city": "Paris"}, {"city": "Rome"})
    messages += [
        {"role": "assistant", "content": first.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
        },
    ]
    answer = client.messages.create(model="tiny-tools", max_tokens=4, messages=messages, tools=[WEATHER])
    assert answer.stop_reason == "max_tokens" and answer.content[0].type == "text"
    # Streaming a forced call: one tool_use block whose input arrives as JSON deltas.
    with client.messages.stream(
        model="tiny-tools",
        max_tokens=60,
        messages=messages[:1],
        tools=[WEATHER],
        tool_choice={"type": "any"},
        extra_body=GREEDY,
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [(b.type, getattr(b, "input", None)) for b in final.content] == [("tool_use", call.input)]


def test_count_tokens_matches_usage(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model="tiny", messages=HI, system="be brief")
    used = client.messages.create(model="tiny", max_tokens=1, messages=HI, system="be brief")
    assert counted.input_tokens == used.usage.input_tokens > 0


def test_errors_have_anthropic_shape(client: anthropic.Anthropic, tiny_server: LiveServer) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nope", max_tokens=4, messages=HI)
    assert "model 'nope' not found" in missing.value.message
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(model="tiny", max_tokens=4, messages=[])
    body: Any = bad.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.BadRequestError) as tools:
        client.messages.create(model="tiny", max_tokens=4, messages=HI, tools=[WEATHER])
    assert "does not support tools" in tools.value.message
    raw = httpx.post(tiny_server.base_url + "/v1/messages", json={"model": "tiny", "messages": HI})
    assert raw.status_code == 400
    assert raw.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }


def test_async_client(tiny_server: LiveServer) -> None:
    import asyncio

    async def main() -> tuple[str, str]:
        async with anthropic.AsyncAnthropic(base_url=tiny_server.base_url, api_key="x") as ac:
            whole = await ac.messages.create(model="tiny", max_tokens=4, messages=HI, extra_body=GREEDY)
            async with ac.messages.stream(
                model="tiny", max_tokens=4, messages=HI, extra_body=GREEDY
            ) as stream:
                streamed = "".join([t async for t in stream.text_stream])
            return whole.content[0].text, streamed  # type: ignore[union-attr]

    whole, streamed = asyncio.run(main())
    assert whole and whole == streamed


def test_thinking_relaxed_and_sent_back(client: anthropic.Anthropic) -> None:
    # tiny cannot think: like Ollama, the thinking request is dropped rather than refused.
    thinking: anthropic.types.ThinkingConfigParam = {"type": "enabled", "budget_tokens": 1024}
    plain = client.messages.create(model="tiny", max_tokens=3, messages=HI, thinking=thinking)
    assert [b.type for b in plain.content] == ["text"]
    # An assistant turn carrying a (signed, by Anthropic) thinking block is accepted back.
    turn: list[anthropic.types.MessageParam] = [
        *HI,
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "the user greets", "signature": "sig"},
                {"type": "text", "text": "hello"},
            ],
        },
        {"role": "user", "content": "ok"},
    ]
    again = client.messages.create(model="tiny", max_tokens=3, messages=turn)
    assert again.content[0].type == "text" and again.usage.input_tokens > plain.usage.input_tokens
