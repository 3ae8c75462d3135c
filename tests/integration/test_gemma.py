"""The real model end to end: Gemma 3 270M pulled offline, answering over HTTP like llama.cpp does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def gemma_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store with gemma3:270m, shared by this module's servers (pulling copies 253 MB)."""
    return tmp_path_factory.mktemp("gemma") / "models"


@pytest.fixture
def gemma(servers: Any, gemma_store: Path) -> LiveServer:
    s: LiveServer = servers.start(models=gemma_store)
    if not s.client.get("/api/tags").json()["models"]:
        r = s.client.post("/api/pull", json={"model": "gemma3:270m", "stream": False})
        assert r.json() == {"status": "success"}
    return s


def test_greedy_raw_generation_matches_llama_cpp_called_directly(gemma: LiveServer) -> None:
    import llama_cpp

    body = {
        "model": "gemma3:270m",
        "prompt": PROMPT,
        "raw": True,
        "stream": False,
        "options": {"temperature": 0, "num_predict": 16, "num_ctx": 2048},
    }
    got = gemma.client.post("/api/generate", json=body).json()
    assert got["eval_count"] == 16 and got["done_reason"] == "length"
    blob = next((gemma.models / "blobs").glob("sha256-a5fd3b62*"))
    llm = llama_cpp.Llama(str(blob), n_ctx=2048, n_threads=2, verbose=False)
    direct = llm(PROMPT, max_tokens=16, temperature=0)["choices"][0]["text"]
    assert got["response"] == direct
    assert "France" in got["response"] or "Paris" in got["response"]


def test_chat_answers_with_the_gemma_template(gemma: LiveServer) -> None:
    r = gemma.client.post(
        "/api/chat",
        json={
            "model": "gemma3:270m",
            "stream": False,
            "messages": [{"role": "user", "content": "Say hello."}],
            "options": {"temperature": 0, "num_predict": 24},
        },
    )
    body = r.json()
    assert r.status_code == 200
    assert body["message"]["role"] == "assistant"
    assert body["message"]["content"].strip()
    assert "<end_of_turn>" not in body["message"]["content"]
    assert body["prompt_eval_count"] > 5


def test_format_json_output_parses(gemma: LiveServer) -> None:
    r = gemma.client.post(
        "/api/generate",
        json={
            "model": "gemma3:270m",
            "raw": True,
            "prompt": '{"name": "Tom", "age": 3}\n{"name": "Ann", "age": 5}\n',
            "format": "json",
            "stream": False,
            "options": {"temperature": 0, "num_predict": 200},
        },
    )
    body = r.json()
    assert body["done_reason"] == "stop", body
    json.loads(body["response"])


def test_format_schema_output_validates(gemma: LiveServer) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    r = gemma.client.post(
        "/api/chat",
        json={
            "model": "gemma3:270m",
            "format": schema,
            "stream": False,
            "messages": [{"role": "user", "content": "Invent a cat. Reply in JSON."}],
            "options": {"temperature": 0, "num_predict": 96},
        },
    )
    value = json.loads(r.json()["message"]["content"])
    assert set(value) >= {"name", "age"}
    assert isinstance(value["name"], str) and isinstance(value["age"], int)
