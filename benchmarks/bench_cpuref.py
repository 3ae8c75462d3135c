"""cpu-ref vs llama.cpp on the CPU, Gemma 3 270M Q4_K_M: prompt and decode tokens/s in one run.

Run with ``python benchmarks/bench_cpuref.py [--rounds 3] [--tokens 32] [--threads 2]``. Both
runners are loaded in this process with the same thread count and take turns, round by round
(so a busy machine slows both alike), with greedy decoding and a prompt that differs from its
first token every round (no prefix is reused). Prints medians, the cpu-ref/llama.cpp ratios
(goal: decode >= 0.25x) and cpu-ref's memory. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

STORY = "Write a long story about a dragon who learns to write computer programs. " * 8


def gemma() -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.backends.llamacpp.llamacpp_models import gemma_gguf_file

    return gemma_gguf_file()


def one_round(runner: Any, n: int, tokens: int) -> tuple[float, float, int]:
    """Prompt tokens/s (to the first token), decode tokens/s (the rest), prompt length."""
    from corral.core.engine import GenerateParams, SamplingOptions

    prompt = runner.tokenize(f"{n}. {STORY}")
    params = GenerateParams(
        prompt_tokens=prompt, sampling=SamplingOptions(temperature=0.0, seed=1), num_predict=tokens
    )
    start = time.perf_counter()
    first = last = start
    count = 0
    for _ in runner.generate(params, threading.Event()):
        count += 1
        last = time.perf_counter()
        if count == 1:
            first = last
    prompt_rate = len(prompt) / (first - start)
    decode_rate = (count - 1) / (last - first) if count > 1 else 0.0
    return prompt_rate, decode_rate, len(prompt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from corral.backends.cpu_ref.backend import CpuRefBackend
    from corral.backends.llamacpp import LlamaCppBackend
    from corral.core.engine import LoadParams, ModelSpec

    path = gemma()
    spec = ModelSpec(name="gemma3:270m", model_path=path, digest="", architecture="gemma3")
    load = LoadParams(num_ctx=1024, num_thread=args.threads)
    started = time.perf_counter()
    cpu_ref = CpuRefBackend().load(spec, load)
    load_s = time.perf_counter() - started
    llama = LlamaCppBackend().load(spec, load)
    results: dict[str, list[tuple[float, float, int]]] = {"cpu-ref": [], "llama.cpp": []}
    for n in range(args.rounds):
        for name, runner in (("llama.cpp", llama), ("cpu-ref", cpu_ref)):
            results[name].append(one_round(runner, n, args.tokens))
            prompt_rate, decode_rate, length = results[name][-1]
            print(
                f"round {n} {name:9s}: prompt {length} tok at {prompt_rate:7.1f} tok/s, "
                f"decode {decode_rate:6.1f} tok/s"
            )
    med = {
        k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
        for k, v in results.items()
    }
    print(f"\nthreads={args.threads} rounds={args.rounds} tokens={args.tokens}")
    for name, (p, d) in med.items():
        print(f"{name:9s}: prompt {p:8.1f} tok/s   decode {d:6.1f} tok/s")
    print(
        f"ratio cpu-ref/llama.cpp: prompt {med['cpu-ref'][0] / med['llama.cpp'][0]:.2f}x   "
        f"decode {med['cpu-ref'][1] / med['llama.cpp'][1]:.2f}x (goal >= 0.25x)"
    )
    print(
        f"cpu-ref load {load_s:.1f} s, memory {cpu_ref.memory_bytes / 2**20:.0f} MiB "
        f"(weights as float32 + KV cache for {cpu_ref.context_length} positions)"
    )
    cpu_ref.close()
    llama.close()


if __name__ == "__main__":
    main()
