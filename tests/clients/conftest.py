"""Fixtures for the client suites: a live corral holding tiny random-weight models.

LiteLLM fetches a model price list from the internet on import unless told not to; the variable is
set here, before any test module of this folder imports it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from clients_models import TINY, TINY_EMBED, TINY_TOOLS, create_tiny, oci_registry, tiny_embedding_gguf

from conformance.tiny import TOOLS_TEMPLATE
from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, _Servers

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of the module's own holding ``tiny``, ``tiny-tools`` (same weights) and ``tiny-embed``."""
    servers = _Servers(tmp_path_factory.mktemp("clients"))
    try:
        server = servers.start()
        models = tmp_path_factory.mktemp("tiny")
        gguf = write_tiny_gguf(models / "tiny.gguf", seed=3)
        create_tiny(server.client, gguf, TINY, builtin_template("chatml").template)
        create_tiny(server.client, gguf, TINY_TOOLS, TOOLS_TEMPLATE)
        create_tiny(server.client, tiny_embedding_gguf(models / "embed.gguf"), TINY_EMBED)
        yield server
    finally:
        servers.stop_all()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """``host:port`` of a real OCI registry (docker-registry) that stops after the test."""
    with oci_registry(tmp_path / "registry") as address:
        yield address
