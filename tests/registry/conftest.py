"""Fixtures for registry tests: a real docker-registry, an HTTP proxy that counts and cuts, tiny models."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.core.digest import sha256_digest
from corral.testing import stop_process, wait_for_http, write_tiny_gguf
from tests.conftest import LiveServer, free_port

REGISTRY_BIN = "docker-registry"
_names = itertools.count()


@dataclass
class Registry:
    """A running docker-registry: ``host`` is ``127.0.0.1:PORT``; ``log`` its output file."""

    host: str
    root: Path
    log: Path

    def repo(self, prefix: str = "m") -> str:
        """A fresh ``library/<name>`` repository (the registry is shared by the whole session)."""
        return f"library/{prefix}{os.getpid()}x{next(_names)}"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A real docker-registry on 127.0.0.1 (filesystem storage in a temp dir)."""
    binary = shutil.which(REGISTRY_BIN)
    if binary is None:
        if os.environ.get("CORRAL_CI"):
            pytest.fail(
                "docker-registry is not installed but CORRAL_CI is set (apt-get install docker-registry)"
            )
        pytest.skip(
            "REGISTRY TESTS SKIPPED: docker-registry binary not found (apt-get install docker-registry)"
        )
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n"
        "storage:\n  filesystem:\n    rootdirectory: "
        + str(root / "data")
        + "\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = root / "registry.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(
            f"http://127.0.0.1:{port}/v2/", proc, name="docker-registry", timeout=20, interval=0.05, log=log
        )
        yield Registry(f"127.0.0.1:{port}", root, log)
    finally:
        stop_process(proc)


# --- an HTTP proxy in front of the registry ------------------------------------------------------

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding"}


@dataclass
class Seen:
    """One request the proxy forwarded."""

    method: str
    path: str
    range: str | None
    body_bytes: int
    response_bytes: int = 0


@dataclass
class Proxy:
    """Forwards to ``upstream``; records requests; ``cut`` drops a response after N body bytes."""

    upstream: str
    host: str = ""
    seen: list[Seen] = field(default_factory=list)
    cut: Callable[[str, str], int | None] = lambda method, path: None

    def blob_gets(self, digest: str) -> list[Seen]:
        return [s for s in self.seen if s.method == "GET" and s.path.endswith(f"/blobs/{digest}")]

    def uploaded_bytes(self) -> int:
        return sum(s.body_bytes for s in self.seen if "/blobs/uploads/" in s.path)

    def downloaded_blob_bytes(self) -> int:
        return sum(s.response_bytes for s in self.seen if s.method == "GET" and "/blobs/sha256:" in s.path)


def _handler(proxy: Proxy, client: httpx.Client) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, self.headers.get("Range"), len(body))
            proxy.seen.append(seen)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Host"] = proxy.host
            r = client.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
            data = r.content
            self.send_response(r.status_code)
            for k, v in r.headers.multi_items():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            if self.command == "HEAD":
                self.send_header("Content-Length", r.headers.get("content-length", "0"))
                self.end_headers()
                return
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            limit = proxy.cut(self.command, self.path)
            if limit is not None and limit < len(data):
                self.wfile.write(data[:limit])
                self.wfile.flush()
                seen.response_bytes = limit
                self.close_connection = True
                return
            self.wfile.write(data)
            seen.response_bytes = len(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    return Handler


@pytest.fixture
def proxy(registry: Registry) -> Iterator[Proxy]:
    """A fresh proxy to the session's registry, on its own port."""
    p = Proxy(upstream=f"http://{registry.host}")
    with httpx.Client(timeout=30) as client:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(p, client))
        server.daemon_threads = True
        p.host = f"127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield p
        server.shutdown()
        server.server_close()


# --- tiny models in a live corral ----------------------------------------------------------------


def create_tiny(live: LiveServer, name: str, tmp: Path, *, seed: int = 0) -> str:
    """Upload a tiny GGUF and create ``name`` from it; returns the GGUF's digest."""
    path = tmp / f"tiny-{seed}.gguf"
    if not path.exists():
        write_tiny_gguf(path, seed=seed)
    data = path.read_bytes()
    digest = sha256_digest(data)
    assert live.client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    r = live.client.post(
        "/api/create", json={"model": name, "files": {"model.gguf": digest}, "stream": False}
    )
    assert r.status_code == 200, r.text
    return digest


def tag_digest(live: LiveServer, name: str) -> str:
    """The manifest digest ``/api/tags`` reports for ``name``."""
    for m in live.client.get("/api/tags").json()["models"]:
        if m["name"] == name:
            return str(m["digest"])
    raise AssertionError(f"{name} not in /api/tags")
