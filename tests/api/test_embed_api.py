"""/api/embed, /api/embeddings and /v1/embeddings over real HTTP with a tiny llama.cpp model.

The tiny model is a random llama: llama.cpp embeds it with mean pooling, which is enough to check
shapes, normalization, truncation, dimensions and Ollama's errors. Real vectors are checked
against sentence-transformers in tests/integration/test_minilm_reference.py.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import ollama
import openai
import pytest

from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, _Servers

CTX = 256


@pytest.fixture(scope="module")
def emb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server holding ``tiny`` (trained context 256; one llama.cpp thread)."""
    servers = _Servers(tmp_path_factory.mktemp("embed"))
    try:
        server = servers.start()
        path = write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", seed=5, context_length=CTX)
        blob = path.read_bytes()
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        assert server.client.post(f"/api/blobs/{digest}", content=blob).status_code == 201
        body = {
            "model": "tiny",
            "files": {"tiny.gguf": digest},
            "parameters": {"num_thread": 1},
            "stream": False,
        }
        assert server.client.post("/api/create", json=body).status_code == 200
        yield server
    finally:
        servers.stop_all()


def embed(server: LiveServer, **body: Any) -> Any:
    return server.client.post("/api/embed", json={"model": "tiny", **body})


def test_embed_list_is_normalized_with_metrics(emb: LiveServer) -> None:
    r = embed(emb, input=["why is the sky blue?", "why is the grass green?", "why is the sky blue?"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert set(body) == {"model", "embeddings", "total_duration", "load_duration", "prompt_eval_count"}
    assert body["model"] == "tiny"
    vectors = np.asarray(body["embeddings"])
    assert vectors.shape == (3, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])
    assert body["total_duration"] >= body["load_duration"] > 0
    one = embed(emb, input="why is the sky blue?").json()
    two = embed(emb, input="why is the grass green?").json()
    assert one["embeddings"] == [body["embeddings"][0]]
    # The count is the sum over the inputs.
    assert body["prompt_eval_count"] == 2 * one["prompt_eval_count"] + two["prompt_eval_count"]


def test_embed_values_are_shortest_float32(emb: LiveServer) -> None:
    """Like Go's float32 JSON: the shortest decimal that reads back to the same float32."""
    values = embed(emb, input="short floats").json()["embeddings"][0]
    assert [repr(v) for v in values] == [str(np.float32(v)) for v in values]


def test_embed_dimensions_cut_and_renormalize(emb: LiveServer) -> None:
    full = np.asarray(embed(emb, input="dimensions").json()["embeddings"][0])
    cut = np.asarray(embed(emb, input="dimensions", dimensions=16).json()["embeddings"][0])
    assert cut.shape == (16,)
    assert np.isclose(np.linalg.norm(cut), 1.0, atol=1e-5)
    assert np.allclose(cut, full[:16] / np.linalg.norm(full[:16]), atol=1e-5)
    # dimensions beyond the vector size leave it as it is (Ollama cuts only when 0 < d < size).
    big = embed(emb, input="dimensions", dimensions=10_000).json()["embeddings"][0]
    assert np.allclose(big, full)


def test_embed_truncation(emb: LiveServer) -> None:
    long = "alpha beta gamma delta " * 200
    r = embed(emb, input=long, truncate=False)
    assert (r.status_code, r.json()) == (400, {"error": "the input length exceeds the context length"})
    r = embed(emb, input=[long, "short"])
    assert r.status_code == 200, r.text
    short = embed(emb, input="short").json()["prompt_eval_count"]
    assert r.json()["prompt_eval_count"] == CTX + short
    assert len(r.json()["embeddings"]) == 2
    # The requested num_ctx bounds the input, though llama.cpp rounds its context up to 256.
    r = embed(emb, input=long, options={"num_ctx": 64})
    assert r.status_code == 200 and r.json()["prompt_eval_count"] == 64
    r = embed(emb, input=long, options={"num_ctx": 64}, truncate=False)
    assert (r.status_code, r.json()) == (400, {"error": "the input length exceeds the context length"})


def test_embed_empty_input_only_loads(emb: LiveServer) -> None:
    for body in ({"input": ""}, {"input": []}, {}):
        r = embed(emb, **body)
        assert (r.status_code, r.json()) == (200, {"model": "tiny", "embeddings": []})
    assert [m["name"] for m in emb.client.get("/api/ps").json()["models"]] == ["tiny:latest"]
    r = embed(emb, input=[], keep_alive=0)
    assert (r.status_code, r.json()) == (200, {"model": "tiny", "embeddings": []})
    assert emb.client.get("/api/ps").json()["models"] == []
    # keep_alive 0 with input: embed, then unload at once.
    r = embed(emb, input="bye", keep_alive=0)
    assert r.status_code == 200 and len(r.json()["embeddings"]) == 1
    assert emb.client.get("/api/ps").json()["models"] == []


@pytest.mark.parametrize("value", [[1, 2], {"text": "x"}, 5, ["ok", 3], True])
def test_embed_invalid_input_type(emb: LiveServer, value: Any) -> None:
    r = embed(emb, input=value)
    assert (r.status_code, r.json()) == (400, {"error": "invalid input type"})


def test_embed_model_errors(emb: LiveServer) -> None:
    c = emb.client
    r = c.post("/api/embed", json={"model": "nope", "input": "hi"})
    assert (r.status_code, r.json()) == (404, {"error": 'model "nope" not found, try pulling it first'})
    r = c.post("/api/embed", json={"input": "hi"})
    assert (r.status_code, r.json()) == (404, {"error": "model '' not found"})
    r = c.post("/api/embeddings", json={"model": "nope", "prompt": "hi"})
    assert (r.status_code, r.json()) == (404, {"error": 'model "nope" not found, try pulling it first'})
    r = c.post("/api/embeddings", json={"prompt": "hi"})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})
    r = c.post("/api/embed", content=b"")
    assert (r.status_code, r.json()) == (400, {"error": "missing request body"})
    r = embed(emb, input="x", dimensions="many")
    assert r.status_code == 400 and "EmbedRequest.dimensions" in r.json()["error"]


def test_legacy_embeddings_not_normalized(emb: LiveServer) -> None:
    c = emb.client
    r = c.post("/api/embeddings", json={"model": "tiny", "prompt": "why is the sky blue?"})
    assert r.status_code == 200
    assert set(r.json()) == {"embedding"}
    raw = np.asarray(r.json()["embedding"])
    assert raw.shape == (64,) and not np.isclose(np.linalg.norm(raw), 1.0, atol=1e-3)
    normalized = embed(emb, input="why is the sky blue?").json()["embeddings"][0]
    assert np.allclose(raw / np.linalg.norm(raw), normalized, atol=1e-5)
    r = c.post("/api/embeddings", json={"model": "tiny", "prompt": ""})
    assert (r.status_code, r.json()) == (200, {"embedding": []})


def test_embedding_and_generation_share_a_model(emb: LiveServer) -> None:
    """The embedding runner has its own load key: generating afterwards reloads, then embeds again."""
    c = emb.client
    first = embed(emb, input="reload").json()["embeddings"]
    r = c.post(
        "/api/generate",
        json={"model": "tiny", "prompt": "hi", "stream": False, "options": {"num_predict": 2}},
    )
    assert r.status_code == 200 and r.json()["done"] is True
    assert embed(emb, input="reload").json()["embeddings"] == first


def test_openai_embeddings_float_and_base64(emb: LiveServer) -> None:
    c = emb.client
    texts = ["why is the sky blue?", "why is the grass green?"]
    r = c.post("/v1/embeddings", json={"model": "tiny", "input": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and body["model"] == "tiny"
    assert [(d["object"], d["index"]) for d in body["data"]] == [("embedding", 0), ("embedding", 1)]
    native = embed(emb, input=texts).json()
    assert [d["embedding"] for d in body["data"]] == native["embeddings"]
    assert body["usage"] == {
        "prompt_tokens": native["prompt_eval_count"],
        "total_tokens": native["prompt_eval_count"],
    }
    r = c.post(
        "/v1/embeddings", json={"model": "tiny", "input": texts, "encoding_format": "base64", "dimensions": 8}
    )
    decoded = [np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in r.json()["data"]]
    cut = embed(emb, input=texts, dimensions=8).json()["embeddings"]
    assert [v.shape for v in decoded] == [(8,), (8,)]
    assert np.allclose(np.stack(decoded), np.asarray(cut, dtype=np.float32))
    r = c.post("/v1/embeddings", json={"model": "tiny", "input": ""})
    assert r.status_code == 200 and len(r.json()["data"]) == 1


def test_openai_embeddings_errors(emb: LiveServer) -> None:
    c = emb.client

    def error(body: dict[str, Any]) -> tuple[int, Any]:
        r = c.post("/v1/embeddings", json=body)
        assert r.headers["content-type"] == "application/json"
        return r.status_code, r.json()["error"]

    invalid = {"message": "invalid input", "type": "invalid_request_error", "param": None, "code": None}
    assert error({"model": "tiny"}) == (400, invalid)
    assert error({"model": "tiny", "input": []}) == (400, invalid)
    status, err = error({"model": "tiny", "input": [[1, 2, 3]]})
    assert (status, err["message"]) == (400, "invalid input type")
    status, err = error({"model": "nope", "input": "hi"})
    assert (status, err["message"], err["type"]) == (
        404,
        'model "nope" not found, try pulling it first',
        "not_found_error",
    )
    status, err = error({"model": "tiny", "input": "hi", "encoding_format": "int8"})
    assert status == 400 and "encoding_format" in err["message"]


def test_sdk_clients_embed(emb: LiveServer) -> None:
    """The official openai SDK (base64 by default) and the ollama client read our answers."""
    client = openai.OpenAI(base_url=emb.base_url + "/v1", api_key="corral")
    got = client.embeddings.create(model="tiny", input=["sdk one", "sdk two"])
    assert [len(d.embedding) for d in got.data] == [64, 64]
    assert got.usage.prompt_tokens > 0
    native = embed(emb, input=["sdk one", "sdk two"]).json()["embeddings"]
    assert np.allclose([d.embedding for d in got.data], native, atol=1e-6)
    response = ollama.Client(host=emb.base_url).embed(model="tiny", input="sdk one", dimensions=32)
    assert len(response.embeddings[0]) == 32 and response.prompt_eval_count > 0
