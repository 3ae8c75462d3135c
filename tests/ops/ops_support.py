"""Helpers shared by the ops tests: put a tiny model into a running corral over HTTP."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf

__all__ = ["add_tiny_model"]


def add_tiny_model(
    client: httpx.Client, workdir: Path, name: str = "tiny", context_length: int = 512
) -> None:
    """Write a tiny random GGUF, upload it as a blob and create ``name`` from it (chatml template)."""
    path = write_tiny_gguf(workdir / f"ops-tiny-{context_length}.gguf", seed=5, context_length=context_length)
    data = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    body = {
        "model": name,
        "files": {"tiny.gguf": digest},
        "stream": False,
        "template": builtin_template("chatml").template,
    }
    r = client.post("/api/create", json=body)
    assert r.status_code == 200, r.text
