"""POST /v1/completions over real HTTP with a tiny random-weight model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.integration

GREEDY: dict[str, Any] = {"temperature": 0, "seed": 7}


def post(server: LiveServer, body: dict[str, Any]) -> httpx.Response:
    return server.client.post("/v1/completions", json=body)


def events(r: httpx.Response) -> list[Any]:
    assert r.headers["content-type"].startswith("text/event-stream")
    out = []
    for frame in r.text.split("\n\n")[:-1]:
        assert frame.startswith("data: ")
        payload = frame[len("data: ") :]
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def test_completion_shape_and_stream_with_usage(oai: LiveServer) -> None:
    body = {"model": "tiny", "prompt": "once upon", "max_tokens": 4, **GREEDY}
    whole = post(oai, body).json()
    assert whole["id"].startswith("cmpl-") and whole["object"] == "text_completion"
    assert whole["system_fingerprint"] == "fp_ollama" and whole["model"] == "tiny"
    [choice] = whole["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "length" and "logprobs" not in choice
    assert whole["usage"]["completion_tokens"] == 4

    stream = events(post(oai, {**body, "stream": True, "stream_options": {"include_usage": True}}))
    assert stream[-1] == "[DONE]"
    chunks, last = stream[:-2], stream[-2]
    assert all(c["object"] == "text_completion" and c["id"] == chunks[0]["id"] for c in chunks)
    # Like Ollama: every chunk carries a zeroed usage, the finish reason rides on the last one.
    assert all(c["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0} for c in chunks)
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "length"
    assert "".join(c["choices"][0]["text"] for c in chunks) == choice["text"]
    assert last["choices"] == [] and last["usage"] == whole["usage"]


def test_prompt_list_n_echo_and_stop(oai: LiveServer) -> None:
    body = {"model": "tiny", "prompt": ["a b", "c d"], "max_tokens": 3, "n": 2, "temperature": 1.5, "seed": 3}
    out = post(oai, body).json()
    assert [c["index"] for c in out["choices"]] == [0, 1, 2, 3]
    single = post(oai, {**body, "prompt": "c d", "n": 1, "seed": 4}).json()
    assert out["choices"][3]["text"] == single["choices"][0]["text"]  # prompt 2, choice 2: seed + 1
    assert out["usage"]["completion_tokens"] == 12
    assert out["usage"]["prompt_tokens"] == 2 * single["usage"]["prompt_tokens"]
    echo = post(oai, {**body, "prompt": "c d", "n": 1, "seed": 4, "echo": True}).json()
    assert echo["choices"][0]["text"] == "c d" + single["choices"][0]["text"]
    text = post(oai, {"model": "tiny", "prompt": "x", "max_tokens": 8, **GREEDY}).json()["choices"][0]["text"]
    stop = text[2:4]
    cut = post(oai, {"model": "tiny", "prompt": "x", "max_tokens": 8, "stop": stop, **GREEDY}).json()
    assert (
        cut["choices"][0] | {"text": text[: text.index(stop)], "finish_reason": "stop"} == cut["choices"][0]
    )


def test_logprobs_legacy_shape(oai: LiveServer) -> None:
    body = {"model": "tiny", "prompt": "hello", "max_tokens": 3, "logprobs": 2, **GREEDY}
    choice = post(oai, body).json()["choices"][0]
    lp = choice["logprobs"]
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == 3
    assert "".join(lp["tokens"]) == choice["text"]
    assert lp["text_offset"] == [0, len(lp["tokens"][0]), len(lp["tokens"][0]) + len(lp["tokens"][1])]
    assert all(len(top) <= 2 and all(v <= 0 for v in top.values()) for top in lp["top_logprobs"])
    streamed = events(post(oai, {**body, "stream": True}))
    tokens = [t for c in streamed[:-1] for t in (c["choices"][0]["logprobs"] or {}).get("tokens", [])]
    assert tokens == lp["tokens"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": "nope", "prompt": "x"}, 404, "model 'nope' not found"),
        ({"model": "tiny", "prompt": "x", "stop": [1, 2]}, 400, "invalid type for 'stop' field: float64"),
        ({"model": "tiny", "prompt": "x", "stop": 5}, 400, "invalid type for 'stop' field: float64"),
        ({"model": "tiny", "prompt": [1, 2]}, 400, "token arrays are not supported"),
        ({"model": "tiny", "prompt": 3}, 400, "invalid type for 'prompt' field: float64"),
        ({"model": "tiny", "prompt": "x", "suffix": "y"}, 400, "does not support insert"),
        ({"model": "tiny", "prompt": "x", "best_of": 3}, 400, "best_of is not supported"),
        ({"model": "tiny", "prompt": "x", "echo": True, "logprobs": 1}, 400, "echo with logprobs"),
        ({"model": "tiny", "prompt": "x", "temperature": "hot"}, 400, "cannot unmarshal string"),
    ],
)
def test_completion_errors(oai: LiveServer, body: dict[str, Any], status: int, message: str) -> None:
    r = post(oai, body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert message in err["message"] and err["type"] in ("invalid_request_error", "not_found_error")
