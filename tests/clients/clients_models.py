"""Tiny random-weight models for the client suites (imported by name, like llamacpp_models)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from corral.testing import free_port, stop_process, wait_for_http, write_tiny_gguf

__all__ = ["TINY", "TINY_EMBED", "TINY_TOOLS", "create_tiny", "oci_registry", "tiny_embedding_gguf"]

TINY = "tiny"
"""A tiny model with the chatml template: ``completion`` only."""
TINY_TOOLS = "tiny-tools"
"""The same weights with a template that shows ``.Tools``: ``completion`` and ``tools``."""
TINY_EMBED = "tiny-embed"
"""A tiny model with a pooling type: ``embedding`` (64 dimensions)."""


def tiny_embedding_gguf(path: Path) -> Path:
    """A tiny random model that corral serves as an embedding model (mean pooling)."""
    return write_tiny_gguf(path, seed=11, extra_metadata={"llama.pooling_type": 1})


def create_tiny(client: httpx.Client, gguf: Path, name: str, template: str | None = None) -> None:
    """Upload ``gguf`` (once) and create ``name`` from it (with ``template`` when given)."""
    blob = gguf.read_bytes()
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    if client.head(f"/api/blobs/{digest}").status_code != 200:
        assert client.post(f"/api/blobs/{digest}", content=blob).status_code == 201
    body = {"model": name, "files": {"tiny.gguf": digest}, "stream": False}
    if template is not None:
        body["template"] = template
    r = client.post("/api/create", json=body)
    assert r.status_code == 200, r.text


@contextmanager
def oci_registry(root: Path) -> Iterator[str]:
    """A real OCI registry (Debian's ``docker-registry``) on a free loopback port; yields ``host:port``."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed (.ci/run installs it)")
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_http(
            f"http://127.0.0.1:{port}/v2/", proc, name="docker-registry", timeout=20, request_timeout=2
        )
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(proc)
