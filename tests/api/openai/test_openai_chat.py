"""POST /v1/chat/completions over real HTTP with a tiny random-weight model: shapes, streaming,
n, logprobs, formats, tool_choice, images and errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

HI = [{"role": "user", "content": "hi"}]
GREEDY: dict[str, Any] = {"temperature": 0, "seed": 7}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "enum": ["Paris", "Rome"]}},
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"utc": {"type": "boolean"}}, "required": ["utc"]},
    },
}


def post(server: LiveServer, body: dict[str, Any]) -> httpx.Response:
    return server.client.post("/v1/chat/completions", json=body)


def sse(r: httpx.Response) -> list[Any]:
    """The ``data:`` payloads of an SSE body (``[DONE]`` kept as a string); frames must be whole."""
    assert r.headers["content-type"].startswith("text/event-stream")
    frames = r.text.split("\n\n")
    assert frames[-1] == ""
    out = []
    for frame in frames[:-1]:
        assert frame.startswith("data: "), frame
        payload = frame[len("data: ") :]
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["param"] is None and body["error"]["code"] is None
    assert body["error"]["type"] == {400: "invalid_request_error", 404: "not_found_error"}[status]
    message: str = body["error"]["message"]
    return message


def test_non_streamed_reply_shape_and_usage(oai: LiveServer) -> None:
    r = post(oai, {"model": "tiny", "messages": HI, "max_tokens": 5, **GREEDY})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert isinstance(body["created"], int) and body["model"] == "tiny"
    assert body["system_fingerprint"] == "fp_ollama"
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "length"
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    assert "logprobs" not in choice and "tool_calls" not in choice["message"]
    usage = body["usage"]
    assert usage["completion_tokens"] == 5 and usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + 5


def test_stream_role_first_finish_apart_usage_last_then_done(oai: LiveServer) -> None:
    body = {"model": "tiny", "messages": HI, "max_tokens": 4, "stream": True, **GREEDY}
    whole = post(oai, {**body, "stream": False}).json()
    events = sse(post(oai, {**body, "stream_options": {"include_usage": True}}))
    assert events[-1] == "[DONE]"
    chunks, usage_chunk = events[:-2], events[-2]
    assert len({c["id"] for c in events[:-1]}) == 1 and len({c["created"] for c in events[:-1]}) == 1
    assert all(
        c["object"] == "chat.completion.chunk" and c["system_fingerprint"] == "fp_ollama" for c in chunks
    )
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0]["role"] == "assistant" and all("role" not in d for d in deltas[1:])
    assert deltas[-1] == {} and chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert "".join(d.get("content", "") for d in deltas) == whole["choices"][0]["message"]["content"]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"] == whole["usage"]
    plain = sse(post(oai, body))
    assert plain[-1] == "[DONE]" and all("usage" not in c for c in plain[:-1])


def test_n_choices_are_separate_generations_seeded_seed_plus_i(oai: LiveServer) -> None:
    body = {"model": "tiny", "messages": HI, "max_tokens": 6, "temperature": 1.5, "seed": 11}
    three = post(oai, {**body, "n": 3}).json()
    texts = [c["message"]["content"] for c in three["choices"]]
    assert [c["index"] for c in three["choices"]] == [0, 1, 2]
    assert len(set(texts)) > 1  # different seeds sample differently
    assert post(oai, {**body, "seed": 12}).json()["choices"][0]["message"]["content"] == texts[1]
    assert three["usage"]["completion_tokens"] == 18
    assert three["usage"]["prompt_tokens"] == post(oai, body).json()["usage"]["prompt_tokens"]
    streamed = sse(post(oai, {**body, "n": 2, "stream": True}))
    by_index: dict[int, str] = {0: "", 1: ""}
    roles = [c["choices"][0]["index"] for c in streamed[:-1] if "role" in c["choices"][0]["delta"]]
    for c in streamed[:-1]:
        by_index[c["choices"][0]["index"]] += c["choices"][0]["delta"].get("content", "")
    assert roles == [0, 1] and [by_index[0], by_index[1]] == texts[:2]
    assert "n must be between 1 and 128" in error(post(oai, {**body, "n": 0}), 400)


def test_logprobs_and_top_logprobs_openai_shape(oai: LiveServer) -> None:
    body = {"model": "tiny", "messages": HI, "max_tokens": 3, "logprobs": True, "top_logprobs": 2, **GREEDY}
    choice = post(oai, body).json()["choices"][0]
    content = choice["logprobs"]["content"]
    assert len(content) == 3
    for entry in content:
        assert set(entry) == {"token", "logprob", "bytes", "top_logprobs"}
        assert entry["logprob"] <= 0 and bytes(entry["bytes"]).decode("utf-8", "replace")
        assert len(entry["top_logprobs"]) == 2
        assert entry["top_logprobs"][0]["logprob"] >= entry["top_logprobs"][1]["logprob"]
    only = post(oai, {**body, "top_logprobs": 0}).json()["choices"][0]["logprobs"]["content"]
    assert [e["token"] for e in only] == [e["token"] for e in content]
    assert all(e["top_logprobs"] == [] for e in only)
    streamed = sse(post(oai, {**body, "stream": True}))
    tokens = [
        e["token"] for c in streamed[:-1] for e in (c["choices"][0].get("logprobs") or {}).get("content", [])
    ]
    assert tokens == [e["token"] for e in content]
    assert "top_logprobs must be between 0 and 20" in error(post(oai, {**body, "top_logprobs": 21}), 400)


def test_max_completion_tokens_wins_and_stop_strings_cut(oai: LiveServer) -> None:
    base = {"model": "tiny", "messages": HI, **GREEDY}
    r = post(oai, {**base, "max_tokens": 9, "max_completion_tokens": 2}).json()
    assert r["usage"]["completion_tokens"] == 2
    text = post(oai, {**base, "max_tokens": 12}).json()["choices"][0]["message"]["content"]
    cut = text[3:5]
    assert cut and cut not in text[:4]
    for stop in (cut, [cut, "\x00never"]):
        stopped = post(oai, {**base, "max_tokens": 12, "stop": stop}).json()["choices"][0]
        assert stopped["finish_reason"] == "stop" and stopped["message"]["content"] == text[: text.index(cut)]
    assert error(post(oai, {**base, "stop": [1]}), 400) == "invalid type for 'stop' field: float64"
    penalties = {"presence_penalty": 1.5, "frequency_penalty": 1.5, "top_p": 0.5, "user": "someone"}
    assert post(oai, {**base, "max_tokens": 3, **penalties}).status_code == 200


def test_response_format_json_object_and_json_schema(oai: LiveServer) -> None:
    base = {"model": "tiny", "messages": HI, "max_tokens": 60, **GREEDY}
    obj = post(oai, {**base, "response_format": {"type": "json_object"}}).json()["choices"][0]
    if obj["finish_reason"] == "stop":
        assert isinstance(json.loads(obj["message"]["content"]), dict)
    else:
        assert obj["message"]["content"].lstrip().startswith("{")
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "size": {"enum": ["S", "M", "L"]}},
        "required": ["ok", "size"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "strict": True, "schema": schema}}
    choice = post(oai, {**base, "response_format": fmt}).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    value = json.loads(choice["message"]["content"])
    assert set(value) == {"ok", "size"} and isinstance(value["ok"], bool) and value["size"] in "SML"
    bad = error(post(oai, {**base, "response_format": {"type": "yaml"}}), 400)
    assert "invalid response_format type" in bad


def test_tool_choice_required_and_named_force_a_parsed_call(oai: LiveServer) -> None:
    base = {"model": "tiny-tools", "messages": HI, "tools": [WEATHER, TIME], "max_tokens": 80, **GREEDY}
    named = {"type": "function", "function": {"name": "get_weather"}}
    body = post(oai, {**base, "tool_choice": named}).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] == ""
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])["city"] in ("Paris", "Rome")

    events = sse(post(oai, {**base, "tool_choice": "required", "stream": True}))
    calls = [tc for c in events[:-1] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert len(calls) == 1 and calls[0]["index"] == 0
    assert calls[0]["function"]["name"] in ("get_weather", "get_time")
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_choice_none_auto_and_errors(oai: LiveServer) -> None:
    base = {"model": "tiny", "messages": HI, "tools": [WEATHER], "max_tokens": 3, **GREEDY}
    # "none" does not offer the tools, so a model without the tools capability answers.
    assert post(oai, {**base, "tool_choice": "none"}).status_code == 200
    assert "does not support tools" in error(post(oai, {**base, "tool_choice": "auto"}), 400)
    tools = {**base, "model": "tiny-tools"}
    auto = post(oai, {**tools, "tool_choice": "auto"}).json()["choices"][0]
    assert auto["finish_reason"] == "length"
    missing = {"type": "function", "function": {"name": "nope"}}
    assert "'nope', which is not in 'tools'" in error(post(oai, {**tools, "tool_choice": missing}), 400)
    assert "invalid tool_choice" in error(post(oai, {**tools, "tool_choice": "sometimes"}), 400)
    no_tools = {"model": "tiny-tools", "messages": HI, "tool_choice": "required"}
    assert "needs at least one tool" in error(post(oai, no_tools), 400)


def test_tool_round_trip_messages_are_accepted(oai: LiveServer) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
    }
    messages = [
        {"role": "user", "content": "weather in Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    body = {"model": "tiny-tools", "messages": messages, "tools": [WEATHER], "max_tokens": 3, **GREEDY}
    assert post(oai, body).status_code == 200
    rendered = post(oai, {**body, "_debug_render_only": True}).json()["_debug_info"]["rendered_template"]
    assert "tools: get_weather" in rendered and "tool: sunny" in rendered
    bad = [
        *messages[:1],
        {"role": "assistant", "tool_calls": [{**call, "function": {"name": "x", "arguments": "{"}}]},
    ]
    assert error(post(oai, {**body, "messages": bad}), 400) == "invalid tool call arguments"


def test_content_parts_and_images(oai: LiveServer) -> None:
    parts = [{"type": "text", "text": "hello"}, {"type": "text", "text": "there"}]
    r = post(
        oai, {"model": "tiny", "messages": [{"role": "user", "content": parts}], "_debug_render_only": True}
    )
    # Each part becomes a message of its own; the prompt builder joins consecutive user turns.
    assert "user\nhello\n\nthere<|im_end|>" in r.json()["_debug_info"]["rendered_template"]
    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()
    for image in ({"url": png}, png):
        msg = {
            "role": "user",
            "content": [{"type": "text", "text": "what?"}, {"type": "image_url", "image_url": image}],
        }
        text_only = error(post(oai, {"model": "tiny", "messages": [msg]}), 400)
        native = oai.client.post(
            "/api/chat",
            json={"model": "tiny", "messages": [{"role": "user", "content": "x", "images": ["AAAA"]}]},
        )
        assert (
            text_only
            == native.json()["error"]
            == "registry.ollama.ai/library/tiny:latest does not support vision"
        )
    for url, message in [
        (
            "https://example.com/a.png",
            "image URLs are not currently supported, please use base64 encoded data instead",
        ),
        ("data:image/gif;base64,AAAA", "invalid image input"),
        ("data:image/png;base64,@@@", "invalid image input"),
    ]:
        msg = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
        assert error(post(oai, {"model": "tiny", "messages": [msg]}), 400) == message


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": "nope", "messages": HI}, 404, "model 'nope' not found"),
        ({"model": "tiny", "messages": []}, 400, "[] is too short - 'messages'"),
        ({"model": "tiny"}, 400, "[] is too short - 'messages'"),
        (
            {"model": "tiny", "messages": [{"role": "user", "content": 2}]},
            400,
            "invalid message content type: float64",
        ),
        ({"model": "tiny", "messages": [{"role": "user"}]}, 400, "invalid message content type: <nil>"),
        (
            {"model": "tiny", "messages": [{"role": "user", "content": [{"type": "x"}]}]},
            400,
            "invalid message format",
        ),
        ({"model": "", "messages": HI}, 400, "model is required"),
        (
            {"model": "tiny", "messages": HI, "reasoning_effort": "huge"},
            400,
            'invalid reasoning value: "huge"',
        ),
        (
            {"model": "tiny", "messages": HI, "reasoning_effort": "high"},
            400,
            '"tiny" does not support thinking',
        ),
        ({"model": "tiny", "messages": HI, "max_tokens": "x"}, 400, "cannot unmarshal string"),
    ],
)
def test_errors_have_openai_shape_and_status(
    oai: LiveServer, body: dict[str, Any], status: int, message: str
) -> None:
    assert message in error(post(oai, body), status)


def test_malformed_json_and_unknown_routes(oai: LiveServer) -> None:
    r = oai.client.post("/v1/chat/completions", content=b"{bad", headers={"content-type": "application/json"})
    assert "invalid character" in error(r, 400)
    assert error(oai.client.post("/v1/chat/completions", content=b""), 400) == "missing request body"
    assert oai.client.get("/v1/chat/completions").json()["error"]["type"] == "api_error"  # 405
