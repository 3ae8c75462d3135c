"""``corral serve`` always ends after SIGTERM: disconnected streams, a second signal, a stuck unload.

Each test runs a real ``python -m corral serve`` (or the same entry point with one part of the
shutdown made to hang, as a runner thread stuck in a native call would) and talks HTTP to it.
"""

from __future__ import annotations

import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.ops_support import add_tiny_model
from tests.ops.serve_support import Serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Services.stop (unloading every model) blocked in a worker thread that never returns, like a
# runner stuck in llama.cpp: uvicorn's lifespan shutdown waits for it without a time limit.
_STUCK_UNLOAD = textwrap.dedent(
    """
    import sys, threading
    import anyio.to_thread
    import corral.api.server
    import corral.core.services

    async def stuck_stop(self):
        await anyio.to_thread.run_sync(threading.Event().wait)

    corral.core.services.Services.stop = stuck_stop
    corral.api.server.SHUTDOWN_GRACE_S = 2.0
    from corral.cli.main import main
    sys.exit(main(["serve"]))
    """
)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for s in started:
        s.close()


def test_ops_sigterm_after_client_left_mid_stream(tmp_path: Path, serve: list[Serve]) -> None:
    server = Serve(tmp_path, shutdown_timeout="60s")
    serve.append(server)
    add_tiny_model(server.client, tmp_path, context_length=4096)
    for _ in range(2):  # the client reads one chunk of an endless stream and hangs up
        with server.open_stream() as r:
            assert '"done":false' in next(r.iter_lines())
    assert server.client.head("/").status_code == 200
    assert server.client.get("/nowhere").status_code == 404
    status, took = server.signal_and_wait(15)
    assert status == 0, server.log()
    assert took < 5, server.log()
    assert "drained; shutting down" in server.log()


def test_ops_second_sigterm_during_a_drain_exits_at_once(tmp_path: Path, serve: list[Serve]) -> None:
    server = Serve(tmp_path, shutdown_timeout="60s")
    serve.append(server)
    add_tiny_model(server.client, tmp_path, context_length=4096)
    with server.open_stream() as r:
        next(r.iter_lines())  # in flight, and the client keeps it open without reading: the drain waits
        server.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while server.client.get("/ready").status_code != 503:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        assert server.proc.poll() is None  # still draining
        status, took = server.signal_and_wait(10)
    assert status == 128 + signal.SIGTERM, server.log()
    assert took < 3, server.log()
    assert "exiting now" in server.log()


def test_ops_stuck_model_unload_cannot_hold_the_process(tmp_path: Path, serve: list[Serve]) -> None:
    server = Serve(tmp_path, shutdown_timeout="1s", code=_STUCK_UNLOAD)
    serve.append(server)
    status, took = server.signal_and_wait(20)
    assert status == 1, server.log()
    assert took < 10, server.log()
    assert "shutdown still not finished" in server.log()


def test_ops_second_sigterm_while_unload_is_stuck(tmp_path: Path, serve: list[Serve]) -> None:
    code = _STUCK_UNLOAD.replace("SHUTDOWN_GRACE_S = 2.0", "SHUTDOWN_GRACE_S = 600.0")
    server = Serve(tmp_path, shutdown_timeout="1s", code=code)
    serve.append(server)
    server.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while "drained; shutting down" not in server.log():
        assert time.monotonic() < deadline and server.proc.poll() is None, server.log()
        time.sleep(0.05)
    time.sleep(1)  # now inside the lifespan shutdown, waiting for the stuck unload
    assert server.proc.poll() is None
    status, took = server.signal_and_wait(10)
    assert status == 128 + signal.SIGTERM, server.log()
    assert took < 3, server.log()
