"""CTransformersBackend: corral's Backend for ctransformers (probe, load, status)."""

from __future__ import annotations

import importlib.util
import logging
import os
from importlib import metadata
from typing import Any

from corral.core.errors import CorralError
from corral.core.gguf import read_gguf
from corral.core.tokenizer import GGUFTokenizer, UnsupportedTokenizer
from corral.plugins import BackendStatus, Fit, HostInfo, LoadParams, ModelSpec
from corral_ctransformers._native import NativeModel
from corral_ctransformers.probe import LEGACY_FORMATS, fit_for, unsupported_reason
from corral_ctransformers.runner import CTransformersRunner

__all__ = ["CTransformersBackend"]

log = logging.getLogger(__name__)

_KV_BYTES = 2  # llama.cpp of 2023 keeps keys and values in F16


class CTransformersBackend:
    """Legacy GGML files (llama, GPT-2) and llama-family GGUF, on the CPU, through ctransformers 0.2.27."""

    name = "ctransformers"
    formats = ("gguf", *LEGACY_FORMATS)
    """Containers this backend reads; the core offers it legacy GGML files for that reason."""

    def status(self, host: HostInfo) -> BackendStatus:
        """Available when the ctransformers package is importable (never imports it: that loads C)."""
        del host
        if importlib.util.find_spec("ctransformers") is None:
            return BackendStatus(False, "ctransformers is not installed: pip install ctransformers==0.2.27")
        version = metadata.version("ctransformers")
        return BackendStatus(True, "ctransformers (ggml of 2023, CPU)", f"ctransformers {version}")

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        """A fit for legacy GGML llama and GPT-2 files (50) and llama-family GGUF (30); None otherwise."""
        del host
        reason = unsupported_reason(model)
        if reason is not None:
            log.info("ctransformers backend cannot run %s: %s", model.name, reason)
            return None
        return fit_for(model)

    def load(self, model: ModelSpec, params: LoadParams) -> CTransformersRunner:
        """Load the model with ``num_ctx`` positions (capped at the trained context)."""
        reason = unsupported_reason(model)
        if reason is not None:
            raise CorralError(f"ctransformers cannot load model {model.name}: {reason}", 400)
        meta: Any = model.metadata
        trained = meta.get(f"{model.architecture}.context_length")
        n_ctx = params.num_ctx if params.num_ctx > 0 else 2048
        if isinstance(trained, int) and 0 < trained < n_ctx:
            n_ctx = trained
        gguf = model.format == "gguf"
        tokenizer = _gguf_tokenizer(model) if gguf else None
        threads = params.num_thread if params.num_thread > 0 else max(1, (os.cpu_count() or 2) // 2)
        # A GGML file does not name its architecture to ctransformers: the core's reading does.
        model_type = "gguf" if gguf else model.architecture
        try:
            native = NativeModel(
                str(model.model_path),
                model_type,
                context_length=n_ctx,
                threads=threads,
                mmap=params.use_mmap is not False,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise CorralError(f"ctransformers could not load model {model.name}: {exc}") from exc
        llama_ggml = not gguf and model.architecture == "llama"
        return CTransformersRunner(
            native,
            tokenizer=tokenizer,
            # SentencePiece's leading space: GGUF's llama.cpp adds it itself, the GGML llama loader
            # does not (llama.cpp's main added it then); GPT-2's byte-level vocabulary has none.
            space_prefix=llama_ggml,
            add_bos=tokenizer.add_bos if tokenizer is not None else llama_ggml,
            memory_bytes=_memory_bytes(model, native.context_length),
            num_batch=min(max(1, params.num_batch), native.context_length),
        )


def _gguf_tokenizer(model: ModelSpec) -> GGUFTokenizer | None:
    """corral's reading of the GGUF vocabulary (for special tokens and grammars), if it has one."""
    try:
        return GGUFTokenizer.from_metadata(read_gguf(model.model_path, keep_arrays=True).metadata)
    except (UnsupportedTokenizer, OSError, ValueError) as exc:
        log.info("ctransformers: no special-token parsing for %s: %s", model.name, exc)
        return None


def _memory_bytes(model: ModelSpec, n_ctx: int) -> int:
    """Weights (the file, mapped) + the F16 KV cache + one row of logits."""
    meta: Any = model.metadata
    arch = model.architecture
    n_layer = int(meta.get(f"{arch}.block_count") or 0)
    n_embd = int(meta.get(f"{arch}.embedding_length") or 0)
    n_head = int(meta.get(f"{arch}.attention.head_count") or 1)
    n_head_kv = int(meta.get(f"{arch}.attention.head_count_kv") or n_head)
    kv = 2 * n_layer * n_ctx * (n_embd * n_head_kv // max(n_head, 1)) * _KV_BYTES
    vocab = meta.get(f"{arch}.vocab_size") or 32000
    return model.model_path.stat().st_size + kv + int(vocab) * 4
