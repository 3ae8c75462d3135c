"""Unloading a model gives its memory back: its worker process exits, and the server's own resident
memory ends where it was before the load (within 10 MB) — with Gemma 3 270M through ``corral serve``.

Before worker processes the same run went 96 → 464 → 146 MB: llama.cpp's allocations stayed in the
server after the unload.
"""

from __future__ import annotations

import time
from pathlib import Path

from corral.testing.processes import child_pids
from tests.ops.serve_support import Serve

MODEL = "gemma3:270m"
MB = 1 << 20


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_unloading_gemma_returns_the_servers_memory(tmp_path: Path) -> None:
    serve = Serve(tmp_path, shutdown_timeout="5s")
    try:
        c = serve.client
        assert c.post("/api/pull", json={"model": MODEL, "stream": False}, timeout=300).status_code == 200
        c.post("/api/show", json={"model": MODEL})
        time.sleep(0.5)
        idle = _rss(serve.proc.pid)
        assert child_pids(serve.proc.pid) == set()

        for _ in range(2):
            body = {
                "model": MODEL,
                "prompt": "Why is the sky blue?",
                "stream": False,
                "options": {"num_predict": 16},
            }
            r = c.post("/api/generate", json=body, timeout=300)
            assert r.status_code == 200, r.text
            (worker,) = child_pids(serve.proc.pid)
            (ps,) = c.get("/api/ps").json()["models"]
            assert ps["size"] >= _rss(worker) > 200 * MB  # /api/ps reports the worker's real usage
            assert _rss(serve.proc.pid) - idle < 20 * MB  # the weights live in the worker

            assert c.post("/api/generate", json={"model": MODEL, "keep_alive": 0}).status_code == 200
            deadline = time.monotonic() + 30
            while c.get("/api/ps").json()["models"] or child_pids(serve.proc.pid):
                assert time.monotonic() < deadline, "the worker did not exit"
                time.sleep(0.1)
            assert not Path(f"/proc/{worker}").exists()
            time.sleep(0.5)
            assert abs(_rss(serve.proc.pid) - idle) <= 10 * MB, (idle / MB, _rss(serve.proc.pid) / MB)
    finally:
        serve.proc.terminate()
        serve.proc.wait(30)
