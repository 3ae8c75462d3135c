"""all-MiniLM-L6-v2 end to end: pulled offline (converted to GGUF), embedded by llama.cpp over HTTP,
compared with sentence-transformers reference vectors (tests/data/minilm_reference)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import LiveServer

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "data" / "minilm_reference" / "reference.json").read_text(encoding="utf-8")
)
ITEMS = REFERENCE["items"]

pytestmark = pytest.mark.slow


@pytest.fixture
def minilm(live_server: LiveServer) -> LiveServer:
    r = live_server.client.post("/api/pull", json={"model": "all-minilm"})
    assert r.status_code == 200
    statuses = [json.loads(x)["status"] for x in r.text.splitlines()]
    assert statuses[0] == "pulling manifest" and "converting model" in statuses
    assert statuses[-1] == "success"
    return live_server


def _cosines(vectors: list[list[float]]) -> list[float]:
    out = []
    for got, item in zip(vectors, ITEMS[: len(vectors)], strict=True):
        a, b = np.asarray(got, dtype=np.float64), np.asarray(item["embedding"], dtype=np.float64)
        out.append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    return out


def test_minilm_matches_sentence_transformers(minilm: LiveServer) -> None:
    c = minilm.client
    show = c.post("/api/show", json={"model": "all-minilm"}).json()
    assert show["capabilities"] == ["embedding"]
    assert show["details"]["family"] == "bert"
    assert show["model_info"]["bert.embedding_length"] == 384

    texts = [item["text"] for item in ITEMS]
    # One thread: on a busy 2-core machine llama.cpp's spinning thread pool is many times slower.
    r = c.post("/api/embed", json={"model": "all-minilm", "input": texts, "options": {"num_thread": 1}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "all-minilm"
    assert len(body["embeddings"]) == len(texts) >= 20
    assert all(len(v) == 384 for v in body["embeddings"])
    # Token counts agree with the Hugging Face tokenizer ([CLS] ... [SEP]).
    assert body["prompt_eval_count"] == sum(item["tokens"] for item in ITEMS)
    cosines = _cosines(body["embeddings"])
    assert min(cosines) >= 0.999, list(zip(texts, cosines, strict=True))
    norms = np.linalg.norm(np.asarray(body["embeddings"]), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)

    # Ollama's documented example values for the first sentence (F16 weights on both sides).
    assert np.allclose(body["embeddings"][0][:3], [0.010071029, -0.0017594862, 0.05007221], atol=5e-4)


def test_minilm_openai_and_legacy_agree(minilm: LiveServer) -> None:
    c = minilm.client
    # A derived model keeps the embedding capability; its parameter pins one llama.cpp thread.
    body = {"model": "minilm1", "from": "all-minilm", "parameters": {"num_thread": 1}, "stream": False}
    assert c.post("/api/create", json=body).status_code == 200
    assert c.post("/api/show", json={"model": "minilm1"}).json()["capabilities"] == ["embedding"]
    texts = [item["text"] for item in ITEMS[:4]]
    r = c.post("/v1/embeddings", json={"model": "minilm1", "input": texts, "encoding_format": "base64"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    vectors = [np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4").tolist() for d in data]
    assert min(_cosines(vectors)) >= 0.999
    assert r.json()["usage"]["prompt_tokens"] == sum(item["tokens"] for item in ITEMS[:4])

    legacy = c.post("/api/embeddings", json={"model": "minilm1", "prompt": texts[0]}).json()["embedding"]
    raw = np.asarray(legacy)
    assert abs(float(np.linalg.norm(raw)) - 1.0) > 0.01  # not normalized
    assert float(raw @ np.asarray(vectors[0]) / np.linalg.norm(raw)) > 0.9999

    # A second pull converts again to the same blob: the digest is deterministic.
    def digest() -> str:
        models = c.get("/api/tags").json()["models"]
        return next(m["digest"] for m in models if m["name"] == "all-minilm:latest")

    before = digest()
    assert c.post("/api/pull", json={"model": "all-minilm", "stream": False}).json() == {"status": "success"}
    assert digest() == before
