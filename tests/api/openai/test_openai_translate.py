"""The pure translators of the /v1 adapter, without HTTP: requests → core inputs, chunks → objects."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest

from corral.api.openai import to_openai as out
from corral.api.openai.from_openai import call_schema, from_chat_request, from_completion_request
from corral.api.openai.messages import chat_messages, go_type
from corral.api.openai.protocol import ChatCompletionRequest, CompletionRequest
from corral.core.errors import BadRequest
from corral.core.inference import Chunk, Metrics


def chat(**body: Any) -> ChatCompletionRequest:
    return msgspec.convert(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}, ChatCompletionRequest
    )


def test_go_type_names() -> None:
    values: list[Any] = [None, True, 2, 2.5, "s", [], {}]
    assert [go_type(v) for v in values] == [
        "<nil>", "bool", "float64", "float64", "string", "[]interface {}", "map[string]interface {}",
    ]  # fmt: skip


def test_sampling_defaults_and_seed_per_choice() -> None:
    plan = from_chat_request(chat(n=3, seed=10, max_tokens=9, max_completion_tokens=4, stop="x"))
    opts = [i.options or {} for i in plan.inputs]
    assert [o["seed"] for o in opts] == [10, 11, 12]
    assert opts[0] | {"temperature": 1.0, "top_p": 1.0, "num_predict": 4, "stop": ["x"]} == opts[0]
    assert "seed" not in (from_chat_request(chat()).inputs[0].options or {})
    assert from_completion_request(msgspec.convert({"prompt": "p", "top_p": 0}, CompletionRequest)).inputs[
        0
    ].options == {"temperature": 1.0, "top_p": 1.0}


def test_reasoning_effort_maps_to_think() -> None:
    cases = {"none": False, "minimal": "low", "medium": "medium", "xhigh": "max", "ultra": "max"}
    for effort, think in cases.items():
        assert from_chat_request(chat(reasoning_effort=effort)).inputs[0].think == think
    assert from_chat_request(chat(reasoning={"effort": "high"})).inputs[0].think == "high"
    assert from_chat_request(chat()).inputs[0].think is None


def test_messages_parts_tools_and_tool_names() -> None:
    png = base64.b64encode(b"img").decode()
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": f"data:;base64,{png}"}]
    raw = [
        {"role": "User", "content": parts},
        {"role": "assistant", "content": None, "reasoning": "hmm",
         "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"x": 1}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]  # fmt: skip
    msgs = chat_messages(raw)
    assert [(m.role, m.content) for m in msgs] == [
        ("user", "a"),
        ("user", ""),
        ("assistant", ""),
        ("tool", "42"),
    ]
    assert msgs[1].images == [b"img"] and msgs[2].thinking == "hmm"
    assert msgs[2].tool_calls[0].function.arguments == {"x": 1} and msgs[2].tool_calls[0].id == "c1"
    assert msgs[3].tool_name == "f" and msgs[3].tool_call_id == "c1"
    with pytest.raises(BadRequest, match="invalid tool call arguments"):
        chat_messages(
            [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}]
        )


def test_tool_choice_forcing_schema() -> None:
    def tool(name: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name, "parameters": params}}

    a = tool(
        "a",
        {"type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "$defs": {"P": {"type": "integer"}}},
    )
    b = tool("b", {"type": "object", "properties": {}})
    one = call_schema([a])
    assert one["properties"]["name"] == {"enum": ["a"]} and one["$defs"] == {"P": {"type": "integer"}}
    assert "$defs" not in one["properties"]["arguments"]
    both = call_schema([a, b])
    assert [o["properties"]["name"]["enum"] for o in both["anyOf"]] == [["a"], ["b"]]
    plan = from_chat_request(chat(tools=[a, b], tool_choice={"type": "function", "function": {"name": "b"}}))
    assert plan.force_tool and plan.inputs[0].format == call_schema([b]) and len(plan.inputs[0].tools) == 2
    none = from_chat_request(chat(tools=[a], tool_choice="none", response_format={"type": "json_object"}))
    assert not none.force_tool and none.inputs[0].tools == [] and none.inputs[0].format == "json"


def test_forced_call_parsing_and_finish_reasons() -> None:
    done = Chunk(content='{"name": "f", "arguments": {"x": 1}}', done=True, done_reason="stop")
    call = out.forced_call(done)
    assert call.content == "" and call.tool_calls[0].function.name == "f"
    assert call.tool_calls[0].id.startswith("call_")
    cut = out.forced_call(Chunk(content='{"name": "f", "argu', done=True, done_reason="length"))
    assert cut.tool_calls == [] and out.finish_reason(cut, False) == "length"
    assert out.finish_reason(call, True) == "tool_calls"


def test_usage_counts_each_prompt_once() -> None:
    finals = [Chunk(done=True, metrics=Metrics(prompt_eval_count=p, eval_count=3)) for p in (5, 5, 7, 7)]
    none = {"prompt_tokens_details": {"cached_tokens": 0}}
    assert out.usage(finals, prompts=2) == {
        "prompt_tokens": 12, "completion_tokens": 12, "total_tokens": 24, **none
    }
    assert out.usage(finals[:2]) == {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11, **none}


def test_stream_chunks_role_once_reasoning_apart_finish_alone() -> None:
    env = out.Envelope.new("chatcmpl", "m")
    first = out.chat_chunk(env, 0, Chunk(thinking="t", content="c"), first=True, calls_before=0)
    assert [c["choices"][0]["delta"] for c in first] == [
        {"role": "assistant", "reasoning": "t"},
        {"content": "c"},
    ]
    last = out.chat_chunk(env, 0, Chunk(done=True, done_reason="stop"), first=False, calls_before=1)
    assert [c["choices"][0] for c in last] == [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]
