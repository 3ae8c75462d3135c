"""A live corral for the /v1 tests, shared per module: ``tiny`` (chatml: completion only) and
``tiny-tools`` (the same random weights with a template that shows ``.Tools``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.tiny import TOOLS_TEMPLATE
from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, _Servers


def add_model(
    client: httpx.Client, gguf: Path, name: str, template: str, parameters: dict[str, Any] | None = None
) -> None:
    """Upload ``gguf`` (once) and create ``name`` from it with ``template`` (and ``parameters``)."""
    blob = gguf.read_bytes()
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    if client.head(f"/api/blobs/{digest}").status_code != 200:
        assert client.post(f"/api/blobs/{digest}", content=blob).status_code == 201
    body: dict[str, Any] = {
        "model": name,
        "files": {"tiny.gguf": digest},
        "template": template,
        "stream": False,
    }
    if parameters:
        body["parameters"] = parameters
    r = client.post("/api/create", json=body)
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def oai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of the module's own holding ``tiny`` and ``tiny-tools``."""
    servers = _Servers(tmp_path_factory.mktemp("openai"))
    try:
        server = servers.start()
        gguf = write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", seed=3)
        add_model(server.client, gguf, "tiny", builtin_template("chatml").template)
        add_model(server.client, gguf, "tiny-tools", TOOLS_TEMPLATE)
        yield server
    finally:
        servers.stop_all()
