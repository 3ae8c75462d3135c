"""/api/tokenize, /api/detokenize and llama-server's /tokenize, /detokenize over real HTTP.

The ids come from corral's own GGUF tokenizer without loading the model; they are checked
against what the llama.cpp runner actually fed itself (the ``context`` of a generate whose
template is the bare prompt).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.api.openai.conftest import add_model
from tests.api.test_generate import GREEDY
from tests.conftest import LiveServer


@pytest.fixture
def tiny(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    """``tiny``: SentencePiece vocabulary (BOS added, space prefix) with chatml control tokens."""
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf", seed=1, control_tokens=("<|im_start|>", "<|im_end|>"))
    add_model(live_server.client, gguf, "tiny", builtin_template("chatml").template)
    return live_server


def test_tokenize_matches_the_runner_without_loading_it(tiny: LiveServer) -> None:
    text = "Hello world, <|im_start|>user"
    r = tiny.client.post("/api/tokenize", json={"model": "tiny", "content": text, "add_special": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "tiny" and all(isinstance(t, int) for t in body["tokens"])
    assert tiny.client.get("/api/ps").json()["models"] == []  # the vocabulary alone was read
    gen = tiny.client.post(
        "/api/generate",
        json={
            "model": "tiny",
            "prompt": text,
            "template": "{{ .Prompt }}",
            "stream": False,
            "options": {**GREEDY, "num_predict": 1},
        },
    ).json()
    assert gen["context"][: gen["prompt_eval_count"]] == body["tokens"]
    plain = tiny.client.post("/api/tokenize", json={"model": "tiny", "content": text}).json()["tokens"]
    literal = tiny.client.post(
        "/api/tokenize", json={"model": "tiny", "content": text, "parse_special": False}
    ).json()["tokens"]
    assert plain == body["tokens"][1:] and len(literal) > len(plain)  # no BOS; control text split up
    assert len(literal) > len(plain) == len(body["tokens"]) - 1
    words = tiny.client.post("/api/tokenize", json={"model": "tiny", "content": "Hello world"}).json()
    back = tiny.client.post("/api/detokenize", json={"model": "tiny", "tokens": words["tokens"]})
    # Pieces are joined as llama.cpp streams them: SentencePiece's space prefix stays.
    assert back.json() == {"model": "tiny", "content": " Hello world"}


def test_llama_server_shapes(tiny: LiveServer) -> None:
    r = tiny.client.post("/tokenize", json={"model": "tiny", "content": "héllo", "with_pieces": True})
    assert r.status_code == 200, r.text
    pieces = r.json()["tokens"]
    assert all(set(p) == {"id", "piece"} for p in pieces)
    raw = b"".join(p["piece"].encode() if isinstance(p["piece"], str) else bytes(p["piece"]) for p in pieces)
    assert raw.decode() == " héllo"
    ids = [p["id"] for p in pieces]
    assert tiny.client.post("/tokenize", json={"model": "tiny", "content": "héllo"}).json() == {"tokens": ids}
    assert tiny.client.post("/detokenize", json={"model": "tiny", "tokens": ids}).json() == {
        "content": " héllo"
    }
    # Without a model name, llama-server's single model is the one loaded, if exactly one is.
    missing = tiny.client.post("/tokenize", json={"content": "x"})
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "code": 400,
        "message": "model is required (no single loaded model to default to)",
        "type": "invalid_request_error",
    }
    assert tiny.client.post("/api/generate", json={"model": "tiny"}).json()["done_reason"] == "load"
    assert tiny.client.post("/tokenize", json={"content": "héllo"}).json() == {"tokens": ids}


def test_errors(tiny: LiveServer) -> None:
    r = tiny.client.post("/api/tokenize", json={"model": "nope", "content": "x"})
    assert r.status_code == 404 and r.json() == {"error": "model 'nope' not found"}
    r = tiny.client.post("/api/tokenize", json={"content": "x"})
    assert r.status_code == 400 and r.json() == {"error": "model is required"}
    r = tiny.client.post("/api/detokenize", json={"model": "tiny", "tokens": [1, 10**9]})
    assert r.status_code == 400 and "invalid token id 1000000000" in r.json()["error"]
    r = tiny.client.post("/api/detokenize", json={"model": "tiny", "tokens": "12"})
    assert r.status_code == 400
    assert r.json()["error"].startswith(
        "json: cannot unmarshal string into Go struct field DetokenizeRequest.tokens"
    )
    r = tiny.client.post("/detokenize", json={"model": "tiny", "tokens": [-1]})
    assert r.status_code == 400 and r.json()["error"]["code"] == 400


def test_a_vocabulary_corral_cannot_read_is_tokenized_by_the_runner(
    live_server: LiveServer, tmp_path: Path
) -> None:
    # llama.cpp knows this pre-tokenizer; corral's own tokenizer does not, so the model is loaded.
    gguf = write_tiny_gguf(tmp_path / "bpe.gguf", seed=2, bpe_pre="deepseek-llm")
    add_model(live_server.client, gguf, "bpe", builtin_template("chatml").template)
    r = live_server.client.post("/api/tokenize", json={"model": "bpe", "content": "Hello world"})
    assert r.status_code == 200, r.text
    tokens = r.json()["tokens"]
    assert tokens and [m["name"] for m in live_server.client.get("/api/ps").json()["models"]] == [
        "bpe:latest"
    ]
    back = live_server.client.post("/api/detokenize", json={"model": "bpe", "tokens": tokens})
    assert back.json()["content"] == "Hello world"
