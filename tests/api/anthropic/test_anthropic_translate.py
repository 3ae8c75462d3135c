"""The pure translators of the Anthropic adapter, without HTTP: requests → core chat, chunks →
message objects and stream events, stop sequences."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from corral.api.anthropic import to_anthropic as out
from corral.api.anthropic.from_anthropic import from_count_tokens_request, from_messages_request
from corral.api.anthropic.protocol import CountTokensRequest, MessagesRequest
from corral.api.anthropic.stops import StopWatch
from corral.core.errors import BadRequest
from corral.core.inference import Chunk, Metrics
from corral.core.templates import ToolCall, ToolCallFunction

PNG = base64.b64encode(b"\x89PNG fake").decode()
TOOL = {"name": "get_weather", "description": "d", "input_schema": {"type": "object", "properties": {}}}


def req(**body: Any) -> MessagesRequest:
    base = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    return msgspec.convert({**base, **body}, MessagesRequest)


def test_system_blocks_tools_and_results_become_core_messages() -> None:
    plan = from_messages_request(
        req(
            system=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            tools=[TOOL],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "x"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hm", "signature": "s"},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "get_weather",
                            "input": {"city": "Rome"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": [{"type": "text", "text": "sunny"}],
                        },
                        {"type": "text", "text": "thanks"},
                    ],
                },
            ],
        )
    )
    msgs = plan.input.messages
    assert [(m.role, m.content) for m in msgs] == [
        ("system", "a\nb"),
        ("user", "x"),
        ("assistant", ""),
        ("tool", "sunny"),
        ("user", "thanks"),
    ]
    assert msgs[1].images == [b"\x89PNG fake"] and msgs[2].thinking == "hm"
    assert msgs[2].tool_calls == [ToolCall(ToolCallFunction("get_weather", {"city": "Rome"}, 0), "toolu_1")]
    assert msgs[3].tool_name == "get_weather" and msgs[3].tool_call_id == "toolu_1"
    assert [t.function.name for t in plan.input.tools] == ["get_weather"]
    assert plan.input.options == {"num_predict": 8} and not plan.force_tool and plan.input.format is None


def test_tool_choice_sampling_thinking_and_output_format() -> None:
    forced = from_messages_request(req(tools=[TOOL], tool_choice={"type": "tool", "name": "get_weather"}))
    assert forced.force_tool and forced.input.format["properties"]["name"] == {"enum": ["get_weather"]}
    assert from_messages_request(req(tools=[TOOL], tool_choice={"type": "none"})).input.tools == []
    plan = from_messages_request(
        req(
            temperature=0.5,
            top_p=0.9,
            top_k=3,
            stop_sequences=["", "END"],
            thinking={"type": "enabled", "budget_tokens": 1024},
            output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
        )
    )
    assert plan.input.options == {"num_predict": 8, "temperature": 0.5, "top_p": 0.9, "top_k": 3}
    assert plan.stops == ["END"] and plan.input.think is True and plan.input.format == {"type": "object"}
    assert from_messages_request(req(thinking={"type": "disabled"})).input.think is False
    counted = from_count_tokens_request(
        CountTokensRequest(model="m", messages=[{"role": "user", "content": "q"}])
    )
    assert counted.messages[0].content == "q" and counted.options is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"model": ""}, "model: Field required"),
        ({"messages": []}, "messages: at least one message is required"),
        (
            {"messages": [{"role": "system", "content": "x"}]},
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "document"}]}]},
            "unsupported content block type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "url", "url": "http://x"}}],
                    }
                ]
            },
            "image URLs are not supported",
        ),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "server tool type"),
        ({"tools": [TOOL], "tool_choice": {"type": "tool", "name": "nope"}}, "function 'nope', which"),
        ({"tool_choice": {"type": "any"}}, "needs at least one tool"),
        ({"thinking": {"type": "sometimes"}}, "thinking.type"),
    ],
)
def test_bad_requests_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as err:
        from_messages_request(req(**body))
    assert message in err.value.message


def test_whole_message_and_stop_reasons() -> None:
    call = ToolCall(ToolCallFunction("f", {"a": 1}), "toolu_x")
    joined = Chunk(
        content="hi",
        thinking="t",
        tool_calls=[call],
        done=True,
        done_reason="stop",
        metrics=Metrics(prompt_eval_count=7, eval_count=3),
    )
    msg = msgspec.to_builtins(out.message("msg_1", "m", joined, out.stop_reason(joined, True)))
    assert msg == {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "model": "m",
        "content": [
            {"type": "thinking", "thinking": "t", "signature": ""},
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "toolu_x", "name": "f", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 3},
    }
    assert out.stop_reason(Chunk(done_reason="length"), False) == out.End("max_tokens")
    assert out.stop_reason(Chunk(done_reason="stop"), False) == out.End("end_turn")
    assert out.stop_reason(Chunk(done_reason="stop"), False, "X") == out.End("stop_sequence", "X")


def test_event_stream_blocks() -> None:
    stream = out.EventStream("msg_1", "m")
    events = stream.start()
    events += stream.push(Chunk(thinking="a"))
    events += stream.push(Chunk(thinking="b"))
    events += stream.push(Chunk(content="c"))
    events += stream.push(Chunk(tool_calls=[ToolCall(ToolCallFunction("f", {"x": 1}), "toolu_1")]))
    final = Chunk(done=True, done_reason="stop", metrics=Metrics(prompt_eval_count=5, eval_count=4))
    events += stream.finish(final, out.stop_reason(final, stream.made_calls))
    assert [(name, data.get("index")) for name, data in events] == [
        ("message_start", None),
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_delta", 2),
        ("content_block_stop", 2),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert all(name == data["type"] for name, data in events)
    assert events[9][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"x":1}'}
    assert events[-2][1]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert events[-2][1]["usage"] == {"input_tokens": 5, "output_tokens": 4}
    empty = out.EventStream("msg_2", "m")
    tail = empty.finish(Chunk(done=True, done_reason="length"), out.End("max_tokens"))
    assert [n for n, _ in tail][:2] == ["content_block_start", "content_block_stop"]


async def _chunks(items: list[Chunk], closed: list[bool]) -> AsyncIterator[Chunk]:
    try:
        for c in items:
            yield c
    finally:
        closed.append(True)


def test_stop_watch_cuts_names_and_ends_the_generation() -> None:
    async def run(stops: list[str], items: list[Chunk]) -> tuple[list[Chunk], StopWatch, list[bool]]:
        closed: list[bool] = []
        watch = StopWatch(stops)
        got = [c async for c in watch.watch(_chunks(items, closed))]
        return got, watch, closed

    items = [Chunk(content="ab"), Chunk(content="cXY"), Chunk(content="never"), Chunk(done=True)]
    got, watch, closed = asyncio.run(run(["XY", "Y"], items))
    assert "".join(c.content for c in got) == "abc" and got[-1].done and got[-1].metrics is None
    assert watch.matched == "XY" and watch.pieces == 2 and closed == [True]
    got, watch, _ = asyncio.run(run(["Q"], [Chunk(content="a"), Chunk(content="b", done=True)]))
    assert "".join(c.content for c in got) == "ab" and watch.matched is None
