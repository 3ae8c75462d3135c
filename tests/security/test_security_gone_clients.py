"""A client that disconnects while its request waits in the queue leaves it at once, and its
generation never starts (issue 17 item 8)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.core.events import Event, FirstToken, RequestDequeued, RequestQueued
from corral.plugins import hookimpl
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, _Servers
from tests.security.security_support import create_tiny

pytestmark = pytest.mark.integration


class Recorder:
    """An observer plugin, registered like any third-party one, that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def corral_on_event(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Any], request_id: str) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and e.request_id == request_id]


def raw_post(live: LiveServer, path: str, body: dict[str, Any], request_id: str) -> socket.socket:
    host, port = live.base_url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    data = json.dumps(body).encode()
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"X-Request-ID: {request_id}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return sock


def wait_for(condition: Any, what: str, limit_s: float = 10) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.fixture
def busy(servers: _Servers, tmp_path: Path) -> tuple[LiveServer, Recorder]:
    live = servers.start(num_parallel=1)
    create_tiny(
        live.client, "tiny", write_tiny_gguf(tmp_path / "t.gguf", seed=2, context_length=16384).read_bytes()
    )
    recorder = Recorder()
    live.services.plugins.pm.register(recorder)
    return live, recorder


GONE = [
    ("/api/generate", {"model": "tiny", "prompt": "queued", "stream": False}),
    ("/api/generate", {"model": "tiny", "prompt": "queued"}),
    ("/api/chat", {"model": "tiny", "messages": [{"role": "user", "content": "q"}]}),
    ("/v1/chat/completions", {"model": "tiny", "messages": [{"role": "user", "content": "q"}]}),
    ("/v1/completions", {"model": "tiny", "prompt": "q", "stream": True}),
]


@pytest.mark.parametrize(("path", "body"), GONE, ids=[f"{p} stream={b.get('stream')}" for p, b in GONE])
def test_gone_client_leaves_the_queue_and_never_generates(
    busy: tuple[LiveServer, Recorder], path: str, body: dict[str, Any]
) -> None:
    live, recorder = busy
    # Sampling seed 1 runs this prompt for 2,271 tokens before an end token: seconds of generation.
    options = {"num_predict": 100000, "num_ctx": 16384, "seed": 1}
    long = {"model": "tiny", "prompt": "hold the slot", "options": options}
    with (
        httpx.Client(base_url=live.base_url, timeout=60) as c,
        c.stream("POST", "/api/generate", json=long, headers={"X-Request-ID": "holder"}) as holder,
    ):
        lines = holder.iter_lines()
        first = json.loads(next(lines))
        assert not first["done"], first  # the slot is taken and generating
        sock = raw_post(live, path, body, "gone")
        wait_for(lambda: recorder.of(RequestQueued, "gone"), "the second request was never queued")
        time.sleep(0.3)
        sock.close()
        wait_for(lambda: recorder.of(RequestDequeued, "gone"), "the gone client stayed in the queue", 2)
        assert [e.admitted for e in recorder.of(RequestDequeued, "gone")] == [False]
        assert live.services.scheduler.pending == 0
        assert not json.loads(next(lines))["done"]  # the holder still streams: the slot is still taken
    time.sleep(0.5)  # the slot is free now: a generation that were still queued would start
    assert recorder.of(FirstToken, "gone") == []
    assert [e.admitted for e in recorder.of(RequestDequeued, "gone")] == [False]
