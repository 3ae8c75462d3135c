"""A real ``corral serve`` subprocess for the ops tests (signals, drain, whole-app middleware)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

__all__ = ["LONG_GENERATION", "Serve"]

LONG_GENERATION = {"model": "tiny", "prompt": "go", "options": {"num_predict": 100000, "num_ctx": 4096}}


class Serve:
    """A ``corral serve`` subprocess on a free port with its log in a file."""

    def __init__(self, tmp_path: Path, *, shutdown_timeout: str, code: str | None = None) -> None:
        port = free_port()
        env = {
            **os.environ,
            "CORRAL_HOST": f"127.0.0.1:{port}",
            "CORRAL_MODELS": str(tmp_path / "models"),
            "CORRAL_SHUTDOWN_TIMEOUT": shutdown_timeout,
        }
        self.log_path = tmp_path / "serve.log"
        argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "corral", "serve"]
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        self.base = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.base, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log()
            time.sleep(0.1)

    @contextlib.contextmanager
    def open_stream(self) -> Iterator[httpx.Response]:
        """An endless generation stream on a connection of its own, closed on leaving."""
        with (
            httpx.Client(base_url=self.base, timeout=60) as c,
            c.stream("POST", "/api/generate", json=LONG_GENERATION) as r,
        ):
            yield r

    @contextlib.contextmanager
    def slow_upload(self) -> Iterator[None]:
        """A blob upload in flight whose body's end is sent only on leaving the block."""
        release = threading.Event()

        def body() -> Iterator[bytes]:
            yield b"x" * 10
            release.wait(60)
            yield b"y" * 10

        def upload() -> None:
            with contextlib.suppress(httpx.HTTPError), httpx.Client(base_url=self.base, timeout=60) as c:
                c.post("/api/blobs/sha256:" + "0" * 64, content=body())

        uploader = threading.Thread(target=upload)
        uploader.start()
        deadline = time.monotonic() + 10
        while self.client.get("/ready").json()["in_flight"] < 1:
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.05)
        try:
            yield
        finally:
            release.set()
            uploader.join(60)

    def log(self) -> str:
        return self.log_path.read_text()

    def signal_and_wait(self, limit_s: float) -> tuple[int, float]:
        """SIGTERM, then the exit status and how long it took (fails after ``limit_s``)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(limit_s), time.monotonic() - start

    def wait(self, limit_s: float) -> int:
        try:
            return self.proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"corral serve still running {limit_s}s after SIGTERM:\n{self.log()}")

    def close(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
