"""What the metrics plugin costs: decode tokens/s with it on vs off, in one run.

Run with ``python benchmarks/bench_metrics.py [--rounds 8] [--tokens 200]``. One live server in
this process serves a tiny random GGUF (llama.cpp); the metrics plugin is unregistered and
registered again between requests, alternating (ABBA...), so both arms share the runner and machine
noise hits both alike (two separate servers differ by far more than the plugin costs). Prints
the median decode speed of each (server-reported ``eval_count / eval_duration``,
the number users see) and of the whole request (tokens / wall time), and the difference; the goal
is < 1 %. On a busy machine the in-run difference is dominated by noise, so it also times the
plugin's own work directly: every event one request emits, through ``Plugins.emit``, with the
plugin on vs off, as a share of that request's decode time. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from corral.api.app import create_app
from corral.core.config import HostURL, load_config
from corral.core.events import (
    Event,
    FirstToken,
    HttpRequestFinished,
    InterTokenLatency,
    KvCacheUsage,
    RequestDequeued,
    RequestFinished,
    RequestQueued,
    RequestReleased,
    RequestStarted,
)
from corral.core.services import build_services
from corral.core.templates import builtin_template
from corral.plugins import metrics as metrics_plugin
from corral.plugins.manager import BUILTIN_PLUGINS, Plugins, build_plugins
from corral.testing import free_port, write_tiny_gguf

METRICS = "corral.plugins.metrics"


def start_server(models: Path) -> tuple[uvicorn.Server, httpx.Client, Plugins]:
    """A corral with every built-in plugin on a free loopback port."""
    port = free_port()
    config = load_config({}, host=HostURL("http", "127.0.0.1", port), models=models)
    plugins = build_plugins(entry_points=False)
    app = create_app(build_services(config, plugins=plugins))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600), plugins


def set_metrics(plugins: Plugins, on: bool) -> None:
    """Plug the metrics plugin in or out of a running server (``emit`` looks hooks up per event)."""
    registered = plugins.pm.is_registered(metrics_plugin)
    if on and not registered:
        plugins.pm.register(metrics_plugin, name=METRICS)
    elif not on and registered:
        plugins.pm.unregister(metrics_plugin)


def add_model(client: httpx.Client, gguf: Path) -> None:
    data = gguf.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.post(f"/api/blobs/{digest}", content=data).raise_for_status()
    body = {"model": "tiny", "files": {"m.gguf": digest}, "template": builtin_template("chatml").template}
    client.post("/api/create", json={**body, "stream": False}).raise_for_status()


def one_request(client: httpx.Client, tokens: int) -> tuple[float, float]:
    """(server decode tok/s, end-to-end tok/s) of one streamed generation."""
    body = {
        "model": "tiny",
        "prompt": "the quick brown fox",
        "options": {"temperature": 0, "top_k": 1, "seed": 1, "num_predict": tokens},
    }
    start = time.perf_counter()
    last = b""
    with client.stream("POST", "/api/generate", json=body) as r:
        for line in r.iter_lines():
            if line:
                last = line.encode()
    wall = time.perf_counter() - start
    final = httpx.Response(200, content=last).json()
    return final["eval_count"] / (final["eval_duration"] / 1e9), final["eval_count"] / wall


def request_events(tokens: int) -> list[Event]:
    """The events one streamed generation of ``tokens`` tokens emits."""
    rid, model = "0123456789abcdef", "tiny:latest"
    return [
        RequestStarted(rid, "generate", "tiny"),
        RequestQueued(rid, model, 1),
        RequestDequeued(rid, model, 0, True),
        FirstToken(rid, "tiny", 0.01),
        KvCacheUsage(model, tokens + 8, 2048),
        RequestReleased(rid, model),
        InterTokenLatency(rid, "tiny", tuple(0.004 for _ in range(tokens - 1))),
        RequestFinished(rid, "generate", "tiny", 200, 1.0, 8, tokens, 0.9),
        HttpRequestFinished(rid, "POST", "/api/generate", "tiny", 200, 1.0, 8, tokens),
    ]


def emit_cost(tokens: int, *, metrics: bool, repeat: int = 300) -> float:
    """Seconds the plugins spend on one request's events (``Plugins.emit``, median of 5 batches)."""
    builtins = [p for p in BUILTIN_PLUGINS if metrics or p != METRICS]
    plugins = build_plugins(builtins=builtins, entry_points=False)
    events = request_events(tokens)
    batches = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            for event in events:
                plugins.emit(event)
        batches.append((time.perf_counter() - start) / repeat)
    return statistics.median(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("corral").setLevel(logging.WARNING)  # no access line per request
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        gguf = write_tiny_gguf(root / "tiny.gguf", seed=1, context_length=2048)
        server, client, plugins = start_server(root / "models")
        add_model(client, gguf)
        one_request(client, 16)  # load the model and warm up
        results: dict[str, list[tuple[float, float]]] = {"metrics on": [], "metrics off": []}
        order = list(results)
        for _ in range(args.rounds):
            for name in order:  # who goes first alternates, so drifting load hits both alike
                set_metrics(plugins, name == "metrics on")
                results[name].append(one_request(client, args.tokens))
            order.reverse()
        client.close()
        server.should_exit = True
    medians = {}
    for name, rows in results.items():
        decode = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        medians[name] = (decode, wall)
        print(
            f"{name:12} decode {decode:8.1f} tok/s   end-to-end {wall:8.1f} tok/s"
            f"   ({len(rows)} x {args.tokens} tokens)"
        )
    on, off = medians["metrics on"], medians["metrics off"]
    paired = statistics.median(
        a[0] / b[0] for a, b in zip(results["metrics on"], results["metrics off"], strict=True)
    )
    print(f"median of the per-round decode ratios (on / off): {100 * (paired - 1):+.2f} %")
    cost_on, cost_off = emit_cost(args.tokens, metrics=True), emit_cost(args.tokens, metrics=False)
    extra = cost_on - cost_off
    per_token = 1 / off[0]
    print(
        f"event handling per request of {args.tokens} tokens: on {cost_on * 1e6:.0f} us,"
        f" off {cost_off * 1e6:.0f} us; the plugin adds {extra * 1e6:.0f} us"
        f" = {100 * extra / (args.tokens * per_token):.3f} % of the decode time"
    )
    print(
        f"difference (on vs off): decode {100 * (on[0] / off[0] - 1):+.2f} %"
        f"   end-to-end {100 * (on[1] / off[1] - 1):+.2f} %"
    )


if __name__ == "__main__":
    main()
