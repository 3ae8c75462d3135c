"""CpuRefBackend: decides whether the numpy reference engine can run a GGUF model, and loads it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from corral.backends.cpu_ref.config import SUPPORTED_ARCHITECTURES, Unsupported
from corral.backends.cpu_ref.model import Transformer
from corral.backends.cpu_ref.runner import CpuRefRunner
from corral.backends.cpu_ref.threads import limit_blas_threads, physical_cores
from corral.backends.cpu_ref.weights import DEQUANTIZABLE, load_weights
from corral.core.engine import BackendStatus, Fit, HostInfo, LoadParams, ModelSpec
from corral.core.errors import CorralError
from corral.core.gguf import read_gguf
from corral.core.tokenizer import PRE_TOKENIZERS, GGUFTokenizer, UnsupportedTokenizer

__all__ = ["REFERENCE_SCORE", "CpuRefBackend"]

log = logging.getLogger(__name__)

REFERENCE_SCORE = 10.0
"""The reference engine's fit: below any native engine, above an unknown-architecture guess."""

_TOKENIZERS = frozenset({"llama", "gpt2"})


class CpuRefBackend:
    """GGUF models run by a plain numpy forward pass: slow, but it needs nothing compiled, so
    corral serves models wherever Python and numpy run, and it is the oracle other backends are
    checked against (see :mod:`corral.testing.agreement`)."""

    name = "cpu-ref"

    def status(self, host: HostInfo) -> BackendStatus:
        """Always available: it needs only numpy, a base dependency."""
        del host
        return BackendStatus(True, "numpy reference engine (float32, CPU)", f"numpy {np.__version__}")

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        """A fit for the llama family and Gemma 3 with dequantizable tensors; None (with the
        reason logged) for anything else."""
        reason = unsupported_reason(model)
        if reason is not None:
            log.info("cpu-ref backend cannot run %s: %s", model.name, reason)
            return None
        return Fit(score=REFERENCE_SCORE, reason="cpu-ref: numpy reference engine (float32, CPU)")

    def load(self, model: ModelSpec, params: LoadParams) -> CpuRefRunner:
        """Dequantize the weights to float32, build the tokenizer and a KV cache of ``num_ctx``
        positions (capped at the trained context). Raises :class:`CorralError` when it cannot."""
        try:
            info = read_gguf(model.model_path, keep_arrays=True)
            weights = load_weights(model.model_path, info)
            tokenizer = GGUFTokenizer.from_metadata(info.metadata)
        except (Unsupported, UnsupportedTokenizer) as exc:
            raise CorralError(f"cpu-ref cannot load model {model.name}: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise CorralError(f"cpu-ref could not read model {model.name}: {exc}") from exc
        trained = weights.config.context_length
        n_ctx = params.num_ctx if params.num_ctx > 0 else trained
        if 0 < trained < n_ctx:
            log.info("num_ctx %d exceeds %s's trained context %d", n_ctx, model.name, trained)
            n_ctx = trained
        limit_blas_threads()
        threads = params.num_thread if params.num_thread > 0 else physical_cores()
        transformer = Transformer(weights, n_ctx, threads)
        c = weights.config
        batch = min(max(1, params.num_batch), n_ctx)
        scratch = batch * n_ctx * c.n_head * 4 + batch * 2 * c.n_ff * 4 + c.n_vocab * 4
        return CpuRefRunner(
            transformer,
            tokenizer,
            num_batch=batch,
            memory_bytes=weights.nbytes + transformer.kv_bytes + scratch,
        )


def unsupported_reason(model: ModelSpec) -> str | None:
    """Why cpu-ref cannot run ``model``, from its metadata alone; None when it can."""
    arch = model.architecture
    if arch not in SUPPORTED_ARCHITECTURES:
        names = ", ".join(sorted(SUPPORTED_ARCHITECTURES))
        return f"architecture {arch!r} is not implemented (cpu-ref runs {names})"
    bad = sorted(set(model.tensor_types) - DEQUANTIZABLE)
    if bad:
        return f"tensor types {', '.join(bad)} cannot be dequantized"
    meta: Any = model.metadata
    tokenizer = meta.get("tokenizer.ggml.model")
    if tokenizer is not None and tokenizer not in _TOKENIZERS:
        return f"tokenizer {tokenizer!r} is not supported"
    pre = meta.get("tokenizer.ggml.pre")
    if tokenizer == "gpt2" and pre is not None and pre not in PRE_TOKENIZERS:
        return f"BPE pre-tokenizer {pre!r} is not supported"
    scaling = meta.get(f"{arch}.rope.scaling.type")
    if scaling not in (None, "none", "linear"):
        return f"RoPE scaling {scaling!r} is not implemented (only linear)"
    if model.adapters:
        return "LoRA adapters are not supported"
    if model.projector is not None:
        return "multimodal projectors are not supported"
    return None
