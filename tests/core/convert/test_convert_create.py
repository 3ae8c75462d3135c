"""``corral create`` with ``FROM <directory>`` of safetensors + tokenizer.json: the CLI uploads the
files, the server converts them to a GGUF model layer, and the model embeds."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from convert_tiny_bert import write_tiny_bert

from corral.cli.main import main
from tests.conftest import LiveServer


@pytest.mark.usefixtures("cli_live_server")
def test_cli_create_from_bert_directory(
    live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tiny_bert(tmp_path / "tiny-bert")
    (tmp_path / "Modelfile").write_text("FROM ./tiny-bert\nPARAMETER num_thread 1\n")
    assert main(["create", "tbert", "-f", str(tmp_path / "Modelfile")]) == 0
    err = capsys.readouterr().err
    assert "converting model" in err and err.splitlines()[-1] == "success"

    c = live_server.client
    show: dict[str, Any] = c.post("/api/show", json={"model": "tbert"}).json()
    assert show["capabilities"] == ["embedding"]
    assert show["details"]["family"] == "bert" and show["details"]["quantization_level"] == "F16"
    r = c.post("/api/embed", json={"model": "tbert", "input": ["the cat sat", "a dog ran"]})
    assert r.status_code == 200, r.text
    vectors = np.asarray(r.json()["embeddings"])
    assert vectors.shape == (2, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert r.json()["prompt_eval_count"] == 5 + 5  # [CLS] three words [SEP], twice
    # Longer than the 64 trained positions: cut to 64 tokens, keeping [CLS] and the final [SEP]
    # (the cut text's vector equals that of its first 62 words).
    long = "the cat sat on the mat " * 20
    cut = " ".join(long.split()[:62])
    r = c.post("/api/embed", json={"model": "tbert", "input": [long, cut]})
    assert r.status_code == 200, r.text
    assert r.json()["prompt_eval_count"] == 64 + 64
    a, b = np.asarray(r.json()["embeddings"])
    assert np.allclose(a, b, atol=1e-5)
    r = c.post("/api/embed", json={"model": "tbert", "input": long, "truncate": False})
    assert (r.status_code, r.json()) == (400, {"error": "the input length exceeds the context length"})
    r = c.post("/api/generate", json={"model": "tbert", "prompt": "hi"})
    assert (r.status_code, r.json()) == (400, {"error": '"tbert" does not support generate'})
    r = c.post("/api/chat", json={"model": "tbert", "messages": [{"role": "user", "content": "hi"}]})
    assert (r.status_code, r.json()) == (400, {"error": '"tbert" does not support chat'})


def test_create_refuses_a_directory_it_cannot_convert(live_server: LiveServer, tmp_path: Path) -> None:
    """Safetensors without tokenizer.json: a clear 400 before anything is written."""
    data = b"not really weights"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    c = live_server.client
    assert c.post(f"/api/blobs/{digest}", content=data).status_code == 201
    body = {"model": "broken", "files": {"model.safetensors": digest, "config.json": digest}, "stream": False}
    r = c.post("/api/create", json=body)
    assert r.status_code == 400 and "tokenizer.json" in r.json()["error"]
    body["files"] = {"model.safetensors": digest, "config.json": digest, "tokenizer.json": digest}
    r = c.post("/api/create", json=body)
    assert r.status_code == 400
    assert c.get("/api/tags").json() == {"models": []}
