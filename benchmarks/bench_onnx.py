"""onnx vs llama.cpp on the CPU, Gemma 3 270M: prompt and decode tokens/s, conversion time, cache size.

Run with ``python benchmarks/bench_onnx.py [--rounds 3] [--tokens 64]``. It converts the model into a
fresh temporary cache (timing the conversion), then runs corral's ``OnnxRunner`` and
``LlamaCppRunner`` in separate worker processes that take turns, round by round, with greedy
decoding and a prompt that differs from its first token every round (so no prefix is reused).
Prints medians and the onnx/llama.cpp ratios; the goal is a decode ratio of at least 0.8. This is
a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

STORY = "Write a long story about a dragon who learns to write computer programs. " * 8
SAMPLING: dict[str, Any] = {"temperature": 0.0, "top_k": 1, "seed": 1}


def gemma() -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backends" / "onnx"))
    from onnx_models import gemma_gguf_file

    return gemma_gguf_file()


def worker(backend: str, models: Path, rounds: int, tokens: int, threads: int) -> None:
    """Load the model once, then for each line on stdin run one round and print its figures."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backends" / "onnx"))
    from onnx_models import gemma_store_spec

    from corral.core.engine import GenerateParams, LoadParams, SamplingOptions

    spec = gemma_store_spec(models)
    load = LoadParams(num_ctx=1024, num_thread=threads)
    if backend == "onnx":
        from corral.backends.onnx.backend import OnnxBackend

        runner: Any = OnnxBackend().load(spec, load)
    else:
        from corral.backends.llamacpp import LlamaCppBackend

        runner = LlamaCppBackend().load(spec, load)
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        prompt = runner.tokenize(f"{n}. {STORY}")
        params = GenerateParams(
            prompt_tokens=prompt, sampling=SamplingOptions(**SAMPLING), num_predict=tokens
        )
        start = time.perf_counter()
        first = last = start
        count = 0
        for _ in runner.generate(params, threading.Event()):
            count += 1
            last = time.perf_counter()
            if count == 1:
                first = last
        result = {"prompt": len(prompt) / (first - start), "decode": (count - 1) / (last - first), "n": count}
        print(json.dumps(result), flush=True)
    runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="0: the backend's default (cores)")
    parser.add_argument("--worker", choices=["onnx", "llamacpp"], help=argparse.SUPPRESS)
    parser.add_argument("--models", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.models, args.rounds, args.tokens, args.threads)
        return

    from corral.backends.onnx.cache import convert_cached

    path = gemma()
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backends" / "onnx"))
        from onnx_models import gemma_store_spec

        spec = gemma_store_spec(models)
        started = time.perf_counter()
        converted = convert_cached(spec.model_path, spec.digest, spec.name)
        convert_s = time.perf_counter() - started
        print(f"model: {path.name} ({path.stat().st_size / 2**20:.0f} MiB GGUF)")
        print(
            f"conversion: {convert_s:.1f}s wall; cache entry {converted.bytes / 2**20:.0f} MiB "
            f"at {converted.path.parent.name}"
        )
        workers = {}
        for name in ("llamacpp", "onnx"):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--models",
                str(models),
                "--tokens",
                str(args.tokens),
                "--threads",
                str(args.threads),
            ]
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            while proc.stdout.readline().strip() != "ready":
                pass
            workers[name] = proc
        results: dict[str, list[dict[str, float]]] = {name: [] for name in workers}
        for r in range(args.rounds):
            for name, proc in workers.items():
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(f"{r}\n")
                proc.stdin.flush()
                results[name].append(json.loads(proc.stdout.readline()))
        for proc in workers.values():
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait()
    med = {
        n: {k: statistics.median(x[k] for x in rs) for k in ("prompt", "decode")} for n, rs in results.items()
    }
    for name, m in med.items():
        print(
            f"{name:9s} prompt {m['prompt']:7.1f} tok/s   decode {m['decode']:6.1f} tok/s   "
            f"(median of {args.rounds})"
        )
    print(
        f"onnx / llama.cpp: prompt {med['onnx']['prompt'] / med['llamacpp']['prompt']:.2f}x, "
        f"decode {med['onnx']['decode'] / med['llamacpp']['decode']:.2f}x (goal >= 0.8x)"
    )


if __name__ == "__main__":
    main()
