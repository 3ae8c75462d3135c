"""A server that dies without a word (SIGKILL, the OOM killer) leaves no worker process behind:
each worker notices its socket close and exits."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from corral.testing.processes import child_pids
from tests.ops.ops_support import add_tiny_model
from tests.ops.serve_support import Serve


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "zombie" not in status


def test_workers_exit_when_the_server_is_killed(tmp_path: Path) -> None:
    serve = Serve(tmp_path, shutdown_timeout="5s")
    add_tiny_model(serve.client, tmp_path)
    body = {"model": "tiny", "prompt": "hi", "stream": False, "options": {"num_predict": 2}}
    assert serve.client.post("/api/generate", json=body).status_code == 200
    workers = sorted(child_pids(serve.proc.pid))
    assert len(workers) == 1 and _alive(workers[0])

    os.kill(serve.proc.pid, signal.SIGKILL)
    serve.proc.wait(10)
    deadline = time.monotonic() + 10
    while _alive(workers[0]):
        assert time.monotonic() < deadline, "the worker outlived its server"
        time.sleep(0.05)
