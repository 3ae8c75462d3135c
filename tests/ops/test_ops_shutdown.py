"""Graceful shutdown of a real ``corral serve`` process: SIGTERM drains in-flight streams."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.ops.ops_support import add_tiny_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_ops_sigterm_drains_an_in_flight_stream(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CORRAL_HOST": f"127.0.0.1:{port}",
        "CORRAL_MODELS": str(tmp_path / "models"),
        "CORRAL_SHUTDOWN_TIMEOUT": "60s",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "corral", "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        add_tiny_model(client, tmp_path)

        # Two requests in flight when the signal arrives: a generation stream, and a blob upload
        # whose body the test trickles, so the drain lasts until the test has checked the 503s.
        release_upload = threading.Event()
        upload_result: dict[str, Any] = {}

        def trickle() -> Iterator[bytes]:
            yield b"x" * 10
            release_upload.wait(60)
            yield b"y" * 10

        def upload() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                digest = "sha256:" + "0" * 64
                upload_result["status"] = c.post(f"/api/blobs/{digest}", content=trickle()).status_code

        uploader = threading.Thread(target=upload)
        uploader.start()
        body = {
            "model": "tiny",
            "prompt": "drain",
            "options": {"temperature": 0, "top_k": 1, "num_predict": 30},
        }
        chunks: list[dict[str, Any]] = []
        with httpx.Client(base_url=base, timeout=60) as streamer:
            with streamer.stream("POST", "/api/generate", json=body) as stream:
                lines = stream.iter_lines()
                chunks.append(json.loads(next(lines)))
                proc.send_signal(signal.SIGTERM)

                deadline = time.monotonic() + 10
                while httpx.get(f"{base}/ready").status_code != 503:
                    assert time.monotonic() < deadline, "readiness never flipped to 503"
                    time.sleep(0.02)
                refused = httpx.post(f"{base}/api/generate", json=body, headers={"X-Request-ID": "late"})
                assert (refused.status_code, refused.headers["x-request-id"]) == (503, "late")
                assert httpx.get(f"{base}/health").status_code == 200

                chunks.extend(json.loads(line) for line in lines if line)
            release_upload.set()
            uploader.join(60)

        assert chunks[-1]["done"] is True, chunks[-1]
        assert chunks[-1]["eval_count"] > 1 and len(chunks) > 2  # it kept streaming after SIGTERM
        assert upload_result["status"] == 400  # the upload ran to the end too (its digest is wrong)
        assert proc.wait(timeout=60) == 0, log_path.read_text()
        client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "drained; shutting down" in log_path.read_text()
