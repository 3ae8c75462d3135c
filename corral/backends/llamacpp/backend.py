"""LlamaCppBackend: decides whether llama.cpp can run a GGUF model (probe) and loads it (load)."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from corral.backends.llamacpp import _lib
from corral.backends.llamacpp import quantize as _quantize
from corral.backends.llamacpp._host import estimate_memory, physical_cores
from corral.backends.llamacpp.runner import LlamaCppRunner
from corral.core.engine import Fit, HostInfo, LoadParams, ModelSpec
from corral.core.errors import CorralError
from corral.core.quantize import QuantizeType

__all__ = ["LlamaCppBackend", "known_architectures"]

log = logging.getLogger(__name__)

GPU_SCORE = 120.0
"""Above the onnx backend on CUDA (110): llama.cpp is the primary engine on an accelerator too."""
CPU_SCORE = 50.0
UNKNOWN_ARCH_SCORE = 5.0
"""An architecture missing from our list may still load with a newer llama.cpp: offered, but
below the reference engine (10) so anything that claims the model for sure wins."""

_load_lock = threading.Lock()
"""llama-cpp-python silences loads by swapping the process's stdout/stderr descriptors; two
loads at once could leave them swapped, so loads are serialised."""


@functools.cache
def known_architectures() -> frozenset[str]:
    """``general.architecture`` values llama.cpp is known to support (shipped as a data file)."""
    text = (
        resources.files("corral.backends.llamacpp").joinpath("architectures.json").read_text(encoding="utf-8")
    )
    names: list[str] = json.loads(text)["architectures"]
    return frozenset(names)


class LlamaCppBackend:
    """The llama.cpp engine (through llama-cpp-python): GGUF models on the CPU, and on CUDA or
    Metal when the installed build has GPU offload."""

    name = "llamacpp"

    # --- quantizing on create (corral.core.quantize.Quantizer) ----------------------------------

    def quantize_unavailable(self) -> str | None:
        """None when llama-cpp-python is installed, else the message naming the extra."""
        return _quantize.quantize_unavailable()

    def quantize(
        self, source: Path, target: Path, ftype: QuantizeType, progress: Callable[[float], None]
    ) -> None:
        """``llama_model_quantize`` in a child process (see ``backends.llamacpp.quantize``)."""
        _quantize.quantize_gguf(source, target, ftype, progress)

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        """A fit for any GGUF architecture llama.cpp knows; None when llama-cpp-python is missing."""
        build = _lib.build_info()
        if build is None:
            log.info(
                "llamacpp backend unavailable for %s: llama-cpp-python is not importable (%s); "
                "install it with %s",
                model.name,
                _lib.import_error(),
                _lib.INSTALL_HINT,
            )
            return None
        accelerator = _accelerator(host)
        gpu = build.gpu_offload and accelerator is not None
        if gpu:
            score, where = GPU_SCORE, f"llama.cpp with GPU offload on {accelerator}"
        elif build.gpu_offload:
            score, where = CPU_SCORE, f"llama.cpp on CPU ({build.describe_cpu()}; no GPU on this host)"
        else:
            hint = f", although the host has {accelerator}" if accelerator else ""
            score = CPU_SCORE
            where = f"llama.cpp on CPU ({build.describe_cpu()}; no GPU offload in this build{hint})"
        arch = model.architecture
        if arch not in known_architectures():
            return Fit(
                score=UNKNOWN_ARCH_SCORE,
                reason=f"{where}; architecture {arch!r} is not in corral's llama.cpp list, "
                "so loading may fail",
                gpu=gpu,
            )
        return Fit(score=score, reason=where, gpu=gpu)

    def load(self, model: ModelSpec, params: LoadParams) -> LlamaCppRunner:
        """Load the GGUF with mmap (unless ``use_mmap`` is False) into a ready runner."""
        lib = _lib.require()
        build = _lib.build_info()
        gpu_offload = build is not None and build.gpu_offload
        if len(model.adapters) > 1:
            raise CorralError("the llamacpp backend supports at most one adapter per model")
        n_ctx = _context_size(model, params.num_ctx)
        threads = params.num_thread if params.num_thread > 0 else physical_cores()
        gpu_layers = _gpu_layers(params.num_gpu, gpu_offload)
        n_batch = max(1, params.num_batch)
        n_ubatch = min(n_batch, 512)
        if params.embedding:
            # Non-causal models must see the whole input in one micro-batch.
            n_batch = n_ubatch = n_ctx
        kwargs: dict[str, Any] = {
            "n_ctx": n_ctx,
            "n_batch": n_batch,
            "n_ubatch": n_ubatch,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_gpu_layers": gpu_layers,
            "main_gpu": max(0, params.main_gpu),
            "use_mmap": params.use_mmap is not False,
            "embedding": params.embedding,
            "verbose": False,
        }
        if model.adapters:
            kwargs["lora_path"] = str(model.adapters[0])
        with _load_lock:
            try:
                llm = lib.Llama(str(model.model_path), **kwargs)
            except (ValueError, RuntimeError, OSError) as exc:
                raise CorralError(f"llama.cpp could not load model {model.name}: {exc}") from exc
        n_ctx = int(llm.n_ctx())  # llama.cpp pads the context to a multiple of 256
        memory = _estimate(lib, llm, model, n_ctx, min(n_ubatch, n_ctx))
        # llama.cpp counts the output layer as one more offloadable layer.
        layers = int(lib.llama_model_n_layer(llm.model)) + 1
        offloaded = layers if gpu_layers < 0 else min(gpu_layers, layers)
        return LlamaCppRunner(
            lib,
            llm,
            memory_bytes=memory,
            vram_bytes=memory * offloaded // layers,
            embedding=params.embedding,
            n_threads=threads,
            gpu_layers=offloaded,
        )


def _accelerator(host: HostInfo) -> str | None:
    if host.cuda_devices > 0:
        plural = "s" if host.cuda_devices > 1 else ""
        return f"{host.cuda_devices} CUDA device{plural}"
    if host.metal:
        return "Metal"
    return None


def _gpu_layers(num_gpu: int, gpu_offload: bool) -> int:
    """Ollama's ``num_gpu`` (-1 automatic) as llama.cpp's ``n_gpu_layers`` (-1 all)."""
    if not gpu_offload or num_gpu == 0:
        return 0
    return -1 if num_gpu < 0 else num_gpu


def _int_meta(model: ModelSpec, key: str) -> int | None:
    value = model.metadata.get(f"{model.architecture}.{key}")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _context_size(model: ModelSpec, num_ctx: int) -> int:
    """``num_ctx``, capped at the context the model was trained for, as Ollama caps it."""
    trained = _int_meta(model, "context_length")
    if num_ctx <= 0:
        return trained if trained and trained > 0 else 4096
    if trained and 0 < trained < num_ctx:
        log.info(
            "num_ctx %d exceeds %s's trained context %d; using %d", num_ctx, model.name, trained, trained
        )
        return trained
    return num_ctx


def _estimate(lib: Any, llm: Any, model: ModelSpec, n_ctx: int, n_ubatch: int) -> int:
    n_embd = int(lib.llama_model_n_embd(llm.model))
    n_head = max(1, int(lib.llama_model_n_head(llm.model)))
    head_dim = n_embd // n_head
    try:
        weights = model.model_path.stat().st_size
    except OSError:
        weights = int(lib.llama_model_size(llm.model))
    return estimate_memory(
        weights_bytes=weights,
        n_ctx=n_ctx,
        n_ubatch=n_ubatch,
        n_layer=int(lib.llama_model_n_layer(llm.model)),
        n_head=n_head,
        n_head_kv=max(0, int(lib.llama_model_n_head_kv(llm.model))),
        key_length=_int_meta(model, "attention.key_length") or head_dim,
        value_length=_int_meta(model, "attention.value_length") or head_dim,
        n_vocab=int(lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(llm.model))),
    )
