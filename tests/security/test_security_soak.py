"""Soak (issue 17 item 9): 64 concurrent streams for 60 s through the HTTP API of a real
``corral serve`` process on a tiny model — no errors, no leaked slots, RSS flat within 10%.

Bounded: the driver stops after ``SOAK_S`` seconds (``CORRAL_SOAK_SECONDS`` overrides), each
request has a timeout, and the server is stopped at the end whatever happens.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from corral.testing import write_tiny_gguf
from tests.ops.serve_support import Serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STREAMS = 64
SOAK_S = float(os.environ.get("CORRAL_SOAK_SECONDS", "60"))
WARM_UP_S = min(10.0, SOAK_S / 4)


@dataclass
class Tally:
    done: int = 0
    errors: list[str] = field(default_factory=list)
    tokens: int = 0
    rss: list[tuple[float, int]] = field(default_factory=list)


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    assert match, status
    return int(match.group(1)) * 1024


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    monkeypatch.setenv("CORRAL_NUM_PARALLEL", "4")
    server = Serve(tmp_path, shutdown_timeout="10s")
    try:
        yield server.base, server.proc
    finally:
        server.close()


async def stream_forever(client: httpx.AsyncClient, worker: int, end: float, tally: Tally) -> None:
    n = 0
    while time.monotonic() < end:
        n += 1
        body = {"model": "tiny", "prompt": f"worker {worker} turn {n}", "options": {"num_predict": 12}}
        try:
            async with client.stream("POST", "/api/generate", json=body) as r:
                if r.status_code != 200:
                    tally.errors.append(f"status {r.status_code}: {(await r.aread())[:200]!r}")
                    continue
                last: dict[str, object] = {}
                async for line in r.aiter_lines():
                    last = json.loads(line)
                    tally.tokens += 1
                if "error" in last or last.get("done") is not True:
                    tally.errors.append(f"bad end: {last}")
                else:
                    tally.done += 1
        except httpx.HTTPError as exc:
            tally.errors.append(f"{type(exc).__name__}: {exc}")


async def sample_rss(pid: int, end: float, tally: Tally) -> None:
    while time.monotonic() < end:
        tally.rss.append((time.monotonic(), rss_bytes(pid)))
        await asyncio.sleep(2)


async def soak(base: str, pid: int) -> Tally:
    tally = Tally()
    end = time.monotonic() + SOAK_S
    limits = httpx.Limits(max_connections=STREAMS + 8, max_keepalive_connections=STREAMS + 8)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        await asyncio.gather(
            sample_rss(pid, end, tally), *(stream_forever(client, w, end, tally) for w in range(STREAMS))
        )
    return tally


def test_soak_64_streams(serve: tuple[str, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    base, proc = serve
    gguf = write_tiny_gguf(tmp_path / "t.gguf", seed=5).read_bytes()
    digest = "sha256:" + hashlib.sha256(gguf).hexdigest()
    with httpx.Client(base_url=base, timeout=60) as c:
        assert c.post(f"/api/blobs/{digest}", content=gguf).status_code == 201
        r = c.post("/api/create", json={"model": "tiny", "files": {"t.gguf": digest}, "stream": False})
        assert r.status_code == 200, r.text
    started = time.monotonic()
    tally = asyncio.run(soak(base, proc.pid))
    assert time.monotonic() - started < SOAK_S + 150  # bounded
    assert tally.errors == [], tally.errors[:5]
    assert tally.done >= STREAMS
    with httpx.Client(base_url=base, timeout=30) as c:
        assert c.get("/ready").json() == {"status": "ready", "in_flight": 0}
        metrics = c.get("/metrics").text
        for gauge in ("corral_requests_running", "corral_requests_waiting"):
            values = [float(v) for v in re.findall(rf"^{gauge}{{[^}}]*}} (\S+)$", metrics, re.M)]
            assert sum(values) == 0, (gauge, values)
    after_warm_up = [rss for t, rss in tally.rss if t - started >= WARM_UP_S]
    assert len(after_warm_up) >= 2
    growth = after_warm_up[-1] / after_warm_up[0] - 1
    first, last = after_warm_up[0] >> 20, after_warm_up[-1] >> 20
    print(f"soak: {tally.done} streams, {tally.tokens} lines, RSS {first} -> {last} MiB")
    assert abs(growth) <= 0.10, f"RSS changed by {growth:.1%} after warm-up"
