"""A llama.cpp model and context made with the low-level API, sized for several sequences.

llama-cpp-python's ``Llama`` class makes a context for one sequence; a batching runner needs
``n_seq_max`` sequences, each with its own share of the KV cache (``kv_unified`` off, as in
llama-server, so one sequence's attention never scans another's cells), and a full-size sliding
window cache (``swa_full``) so that a cached prefix stays reusable on models with SWA layers (Gemma
3): without it, positions older than the window are dropped and a prefix could not be resumed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.core.errors import CorralError

__all__ = ["ContextSpec", "NativeModel", "open_model"]

_load_lock = threading.Lock()
"""Model loads are serialised: llama.cpp's loader is not documented as thread-safe, and two
multi-hundred-MB mmaps at once only compete for the disk."""


@dataclass(frozen=True)
class ContextSpec:
    """What :func:`open_model` creates."""

    n_ctx_seq: int
    """Context per sequence (Ollama's ``num_ctx``)."""
    n_seq: int
    """Sequences (slots)."""
    n_batch: int
    n_ubatch: int
    n_threads: int
    gpu_layers: int
    main_gpu: int = 0
    use_mmap: bool = True
    lora: Path | None = None


class NativeModel:
    """Owns a ``llama_model``, its ``llama_context`` and an optional LoRA adapter; :meth:`close`
    frees them (once)."""

    def __init__(self, lib: Any, model: Any, ctx: Any, adapter: Any, spec: ContextSpec) -> None:
        self.lib = lib
        self.model = model
        self.ctx = ctx
        self._adapter = adapter
        self.spec = spec
        self.vocab: Any = lib.llama_model_get_vocab(model)
        self.memory: Any = lib.llama_get_memory(ctx)
        self.n_ctx_seq = int(lib.llama_n_ctx_seq(ctx))
        self.n_seq = int(lib.llama_n_seq_max(ctx))
        self.can_shift = bool(lib.llama_memory_can_shift(self.memory)) if self.memory else False

    def close(self) -> None:
        lib = self.lib
        if self.ctx is not None:
            lib.llama_free(self.ctx)
            self.ctx = None
        if self._adapter is not None:
            lib.llama_adapter_lora_free(self._adapter)
            self._adapter = None
        if self.model is not None:
            lib.llama_model_free(self.model)
            self.model = None


def open_model(lib: Any, path: Path, spec: ContextSpec, name: str) -> NativeModel:
    """Load the GGUF at ``path`` and make a context of ``spec.n_seq`` × ``spec.n_ctx_seq`` tokens.

    Raises :class:`CorralError` (naming ``name``) when llama.cpp refuses the model or the context.
    """
    if not path.is_file():
        raise CorralError(f"llama.cpp could not load model {name}: the model file does not exist")
    mparams = lib.llama_model_default_params()
    mparams.n_gpu_layers = spec.gpu_layers
    mparams.main_gpu = spec.main_gpu
    mparams.use_mmap = spec.use_mmap
    with _load_lock:
        model = lib.llama_model_load_from_file(str(path).encode("utf-8"), mparams)
    if not model:
        why = "Failed to load model (not a GGUF file llama.cpp can read)"
        raise CorralError(f"llama.cpp could not load model {name}: {why}")
    adapter: Any = None
    ctx: Any = None
    try:
        cparams = lib.llama_context_default_params()
        cparams.n_ctx = spec.n_ctx_seq * spec.n_seq
        cparams.n_seq_max = spec.n_seq
        cparams.n_batch = spec.n_batch
        cparams.n_ubatch = spec.n_ubatch
        cparams.n_threads = spec.n_threads
        cparams.n_threads_batch = spec.n_threads
        cparams.kv_unified = False
        cparams.swa_full = True
        cparams.no_perf = True
        cparams.embeddings = False
        ctx = lib.llama_init_from_model(model, cparams)
        if not ctx:
            raise CorralError(
                f"llama.cpp could not create a context of {spec.n_seq} x {spec.n_ctx_seq} tokens "
                f"for model {name} (out of memory?)"
            )
        if spec.lora is not None:
            adapter = lib.llama_adapter_lora_init(model, str(spec.lora).encode("utf-8"))
            if not adapter:
                raise CorralError(f"llama.cpp could not load the adapter of model {name}")
            adapters = (lib.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (lib.ctypes.c_float * 1)(1.0)
            if int(lib.llama_set_adapters_lora(ctx, adapters, 1, scales)) != 0:
                raise CorralError(f"llama.cpp could not apply the adapter of model {name}")
    except BaseException:
        if ctx:
            lib.llama_free(ctx)
        if adapter:
            lib.llama_adapter_lora_free(adapter)
        lib.llama_model_free(model)
        raise
    return NativeModel(lib, model, ctx, adapter, spec)
