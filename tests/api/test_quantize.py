"""``quantize`` on /api/create through the ollama SDK: llama.cpp's quantizer, Ollama's progress lines,
the quantized blob stored and served like any other, and Ollama's errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import ollama
import pytest

from corral.backends.llamacpp import _lib
from corral.core.gguf import read_gguf
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer

# Rows of 256 weights, so the K-quants apply to every matrix instead of a fallback type.
SHAPE = {"n_embd": 256, "n_ff": 512, "n_head": 4, "n_head_kv": 2}


@pytest.fixture
def f32_model(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "f32.gguf", seed=11, weight_type="f32", **SHAPE)  # type: ignore[arg-type]


def create(server: LiveServer, name: str, gguf: Path, quantize: str) -> list[ollama.ProgressResponse]:
    client = ollama.Client(host=server.base_url)
    digest = client.create_blob(gguf)
    return list(client.create(name, files={"model.gguf": digest}, quantize=quantize, stream=True))


def tensor_types(server: LiveServer, name: str) -> dict[str, str]:
    show = server.client.post("/api/show", json={"model": name, "verbose": True}).json()
    return {t["name"]: t["type"] for t in show["tensors"]}


@pytest.mark.parametrize(
    ("quantize", "level", "matrix_types"),
    [("q8_0", "Q8_0", {"Q8_0"}), ("q4_K_M", "Q4_K_M", {"Q4_K", "Q6_K"})],
)
def test_f32_model_is_quantized_stored_and_runs(
    live_server: LiveServer, f32_model: Path, quantize: str, level: str, matrix_types: set[str]
) -> None:
    lines = create(live_server, f"tiny-{level.lower()}", f32_model, quantize)
    statuses = [p.status for p in lines]
    steps = [p for p in lines if p.status == f"quantizing F32 model to {level}"]
    assert len(steps) >= 3  # a start line and one per tensor or so
    assert {p.digest for p in steps} == {"0000000000000000000"}
    assert all(p.total == f32_model.stat().st_size for p in steps)
    done = [p.completed or 0 for p in steps]
    assert done == sorted(done) and done[0] == 0 and done[-1] == steps[-1].total
    after = statuses[statuses.index(steps[-1].status) + len(steps) :]
    assert after[0] == "verifying conversion" and after[-1] == "success"

    name = f"tiny-{level.lower()}"
    show = live_server.client.post("/api/show", json={"model": name}).json()
    assert show["details"]["quantization_level"] == level
    types = tensor_types(live_server, name)
    assert {t for n, t in types.items() if not n.endswith("norm.weight")} == matrix_types
    assert {t for n, t in types.items() if n.endswith("norm.weight")} == {"F32"}
    # The stored blob is the quantized file, smaller than the F32 upload.
    local = live_server.services.store.resolve(name)
    assert local.model_path is not None
    assert read_gguf(local.model_path, keep_arrays=False).quantization_level == level
    assert local.model_path.stat().st_size < f32_model.stat().st_size / 3

    reply = ollama.Client(host=live_server.base_url).generate(
        name, "hello", options={"temperature": 0, "num_predict": 4}
    )
    assert reply.done and reply.eval_count and reply.eval_count > 0


def test_same_type_and_unsupported_requests(live_server: LiveServer, tmp_path: Path) -> None:
    q8 = write_tiny_gguf(tmp_path / "q8.gguf", seed=2, weight_type="q8_0", n_embd=64, n_ff=128)
    client = ollama.Client(host=live_server.base_url)
    digest = client.create_blob(q8)
    with pytest.raises(ollama.ResponseError) as err:
        client.create("bad", files={"model.gguf": digest}, quantize="q3_x")
    assert err.value.status_code == 400
    assert err.value.error == (
        "unsupported quantization type Q3_X - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0"
    )
    # A source that is already quantized: Ollama's message, as the stream's error line.
    r = live_server.client.post(
        "/api/create", json={"model": "requant", "files": {"model.gguf": digest}, "quantize": "q4_K_M"}
    )
    assert '"error":"quantization is only supported for F16, BF16 and F32 models"' in r.text
    assert live_server.services.store.get_manifest("requant") is None


def test_without_llama_cpp_quantize_is_a_400_naming_the_extra(
    live_server: LiveServer, f32_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_lib, "llama_cpp", lambda: None)  # as if llama-cpp-python were not installed
    client = ollama.Client(host=live_server.base_url)
    digest = client.create_blob(f32_model)
    r = httpx.post(
        live_server.base_url + "/api/create",
        json={"model": "noq", "files": {"model.gguf": digest}, "quantize": "q8_0"},
    )
    assert r.status_code == 400
    hint = "pip install 'corral[llamacpp]'"
    assert r.json() == {"error": f"quantizing needs llama-cpp-python: install it with {hint}"}
