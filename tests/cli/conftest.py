"""CLI test fixtures: a server on loopback and the environment pointing the CLI at it.

The CLI under test only speaks HTTP, so every test points it (through ``CORRAL_HOST``) at a real
socket: the stand-in of ``fake_ollama``, and later the real corral server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fake_ollama import FakeOllama, FakeServer

from corral.testing import free_port


@pytest.fixture
def fake_server() -> Iterator[FakeOllama]:
    """A running stand-in server on 127.0.0.1 (a free port) and its state."""
    httpd = FakeServer(("127.0.0.1", 0))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield httpd.fake
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(fake_server: FakeOllama, monkeypatch: pytest.MonkeyPatch) -> FakeOllama:
    """The stand-in server, with the CLI's environment pointing at it."""
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.setenv("CORRAL_HOST", fake_server.base_url.removeprefix("http://"))
    return fake_server


@pytest.fixture
def dead_host(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at a loopback port nothing listens on; returns the expected base URL."""
    port = free_port()
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.setenv("CORRAL_HOST", f"127.0.0.1:{port}")
    return f"http://127.0.0.1:{port}"
