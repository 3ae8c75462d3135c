"""Request limits over real sockets (SECURITY.md row 25; issue 17 item 3).

Slow clients are cut by the read deadlines of :mod:`corral.api.limits`, connections over the cap
get 503, bodies over the JSON cap or the blob cap get 413 in the dialect's shape.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest

from tests.conftest import LiveServer, _Servers

pytestmark = pytest.mark.integration


def _address(live: LiveServer) -> tuple[str, int]:
    host, port = live.base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def dribble(live: LiveServer, head: bytes, drip: bytes, limit_s: float) -> float:
    """Send ``head`` at once, then ``drip`` one byte a second; seconds until the server closes."""
    start = time.monotonic()
    with socket.create_connection(_address(live), timeout=limit_s) as sock:
        sock.sendall(head)
        sock.settimeout(1.0)
        for byte in drip:
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(4096) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:  # reset by the server
                break
            if time.monotonic() - start > limit_s:
                pytest.fail(f"the server still read a 1 byte/s client after {limit_s}s")
    return time.monotonic() - start


class Cut(NamedTuple):
    name: str
    seconds: float


def test_slow_headers_and_slow_bodies_are_cut_within_15s(live_server: LiveServer) -> None:
    cuts: list[Cut] = []
    slow_head = b"POST /api/chat HTTP/1.1\r\nHost: localhost\r\n" + b"X-Padding: " + b"a" * 100
    body_head = (
        b"POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{"
    )
    jobs = {
        "headers": (slow_head, b"b" * 60),
        "body": (body_head, b" " * 60),
        "blob body": (body_head.replace(b"/api/chat", b"/api/blobs/sha256:" + b"0" * 64), b"x" * 60),
    }

    def run(name: str, head: bytes, drip: bytes) -> None:
        cuts.append(Cut(name, dribble(live_server, head, drip, limit_s=30)))

    threads = [threading.Thread(target=run, args=(n, h, d)) for n, (h, d) in jobs.items()]
    for t in threads:
        t.start()
    # Meanwhile everyone else is served at once.
    time.sleep(1)
    began = time.monotonic()
    assert live_server.client.get("/api/tags").status_code == 200
    assert time.monotonic() - began < 1
    for t in threads:
        t.join(60)
    assert sorted(c.name for c in cuts) == sorted(jobs)
    print("cut after:", ", ".join(f"{c.name} {c.seconds:.1f}s" for c in cuts))
    for cut in cuts:
        assert cut.seconds < 15, cut
    # The cut upload's handler sees the disconnect and removes its temp file (asynchronously).
    deadline = time.monotonic() + 10
    while [n for n in os.listdir(live_server.models / "blobs") if not n.startswith("sha256-")]:
        assert time.monotonic() < deadline, os.listdir(live_server.models / "blobs")
        time.sleep(0.1)


def test_connection_cap(servers: _Servers) -> None:
    live = servers.start(max_connections=4)
    idle = [socket.create_connection(_address(live)) for _ in range(4)]
    try:
        time.sleep(0.2)
        r = live.client.get("/api/tags")
        assert r.status_code == 503 and r.json() == {"error": "too many open connections"}
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while httpx.get(live.base_url + "/api/tags").status_code != 200:  # a new connection each time
        assert time.monotonic() < deadline, "closing connections did not free the cap"
        time.sleep(0.1)


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_json_cap_413_in_each_dialect(servers: _Servers, chunked: bool) -> None:
    live = servers.start(max_request_size=4096)
    body = b'{"model": "m", "prompt": "' + b"x" * 5000 + b'"}'
    content: Any = _chunks(body) if chunked else body

    def post(path: str) -> Any:
        r = live.client.post(path, content=content if not chunked else _chunks(body))
        assert r.status_code == 413, (path, r.text)
        return r.json()

    ollama_error = post("/api/generate")
    assert isinstance(ollama_error["error"], str)
    openai_error = post("/v1/completions")
    assert openai_error["error"]["type"] == "invalid_request_error"
    assert live.client.post("/api/generate", content=b'{"model": "m"}').status_code == 404  # small is fine


def test_blob_cap_413_leaves_no_temp_file(servers: _Servers) -> None:
    live = servers.start(max_blob_size=10_000)
    data = os.urandom(20_000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = live.client.post(f"/api/blobs/{digest}", content=data)
    assert r.status_code == 413
    assert r.json() == {"error": "blob too large: this server accepts at most 10000 bytes now"}
    r = live.client.post(f"/api/blobs/{digest}", content=_chunks(data))
    assert r.status_code == 413
    assert os.listdir(live.models / "blobs") == []
    small = data[:5000]
    r = live.client.post(f"/api/blobs/sha256:{hashlib.sha256(small).hexdigest()}", content=small)
    assert r.status_code == 201
