"""LlamaCppBackend: decides whether llama.cpp can run a GGUF model (probe) and loads it (load)."""

from __future__ import annotations

import contextlib
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
from corral.backends.llamacpp._host import available_memory, estimate_memory, physical_cores
from corral.backends.llamacpp.context import ContextSpec, open_model
from corral.backends.llamacpp.embed_runner import LlamaCppEmbedRunner
from corral.backends.llamacpp.runner import LlamaCppRunner
from corral.backends.llamacpp.vision import Projector, open_projector
from corral.core.engine import BackendStatus, Fit, HostInfo, LoadParams, ModelSpec, Runner
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

    def status(self, host: HostInfo) -> BackendStatus:
        """Available when llama-cpp-python imports; on a GPU when the build offloads and the host has one."""
        build = _lib.build_info()
        if build is None:
            return BackendStatus(
                False, f"llama-cpp-python is not importable ({_lib.import_error()}): {_lib.INSTALL_HINT}"
            )
        accelerator = _accelerator(host)
        if build.gpu_offload and accelerator is not None:
            kind = "metal" if host.metal and not host.cuda_devices else "cuda"
            return BackendStatus(True, f"llama.cpp with GPU offload on {accelerator}", build.version, kind)
        offload = "GPU offload compiled in" if build.gpu_offload else "no GPU offload in this build"
        return BackendStatus(True, f"llama.cpp on CPU ({build.describe_cpu()}; {offload})", build.version)

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
            score = CPU_SCORE
            if accelerator:
                where = (
                    f"llama.cpp on CPU ({build.describe_cpu()}; the host has {accelerator}, but "
                    f"llama.cpp was built without GPU support: {_rebuild_hint(host)})"
                )
            else:
                where = f"llama.cpp on CPU ({build.describe_cpu()}; no GPU offload in this build)"
        arch = model.architecture
        if arch not in known_architectures():
            return Fit(
                score=UNKNOWN_ARCH_SCORE,
                reason=f"{where}; architecture {arch!r} is not in corral's llama.cpp list, "
                "so loading may fail",
                gpu=gpu,
            )
        return Fit(score=score, reason=where, gpu=gpu)

    def estimate_memory(self, model: ModelSpec, params: LoadParams) -> int:
        """Bytes :meth:`load` will need (weights, KV caches of every slot), for the scheduler's budget."""
        n_ctx = _context_size(model, params.num_ctx)
        n_ubatch = min(max(1, params.num_batch), 512)
        per_slot = _estimate(model, n_ctx, n_ubatch, slots=1)
        if params.embedding:
            return per_slot
        slots = (
            params.num_parallel
            if params.num_parallel > 0
            else auto_slots(_weights_bytes(model), per_slot - _weights_bytes(model))
        )
        return _estimate(model, n_ctx, n_ubatch, slots=slots)

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        """Load the GGUF (mmap unless ``use_mmap`` is False) into a ready runner: a batching runner
        with ``num_parallel`` slots (0: up to :data:`AUTO_SLOTS` as memory allows), or an
        embedding runner when ``params.embedding``."""
        lib = _lib.require()
        build = _lib.build_info()
        gpu_offload = build is not None and build.gpu_offload
        if len(model.adapters) > 1:
            raise CorralError("the llamacpp backend supports at most one adapter per model")
        n_ctx = _context_size(model, params.num_ctx)
        threads = params.num_thread if params.num_thread > 0 else physical_cores()
        gpu_layers = _gpu_layers(params.num_gpu, gpu_offload)
        if params.embedding:
            return self._load_embedding(lib, model, params, n_ctx, threads, gpu_layers)
        n_batch = max(1, params.num_batch)
        n_ubatch = min(n_batch, 512)
        per_slot = _estimate(model, n_ctx, n_ubatch, slots=1)
        weights = _weights_bytes(model)
        slots = params.num_parallel if params.num_parallel > 0 else auto_slots(weights, per_slot - weights)
        spec = ContextSpec(
            n_ctx_seq=n_ctx,
            n_seq=slots,
            n_batch=n_batch,
            n_ubatch=n_ubatch,
            n_threads=threads,
            gpu_layers=gpu_layers,
            main_gpu=max(0, params.main_gpu),
            use_mmap=params.use_mmap is not False,
            lora=model.adapters[0] if model.adapters else None,
        )
        native = open_model(lib, model.model_path, spec, model.name)
        projector: Projector | None = None
        if model.projector is not None:
            try:
                projector = open_projector(
                    native.model, model.projector, n_threads=threads, use_gpu=gpu_layers != 0, name=model.name
                )
            except BaseException:
                native.close()
                raise
        memory = _estimate(model, native.n_ctx_seq, min(n_ubatch, native.n_ctx_seq), slots=native.n_seq)
        # llama.cpp counts the output layer as one more offloadable layer.
        layers = int(lib.llama_model_n_layer(native.model)) + 1
        offloaded = layers if gpu_layers < 0 else min(gpu_layers, layers)
        log.info(
            "llama.cpp context for %s: %d slots x %d tokens (~%d MiB)",
            model.name,
            native.n_seq,
            native.n_ctx_seq,
            memory >> 20,
        )
        return LlamaCppRunner(
            native,
            memory_bytes=memory,
            vram_bytes=memory * offloaded // layers,
            n_threads=threads,
            gpu_layers=offloaded,
            projector=projector,
        )

    def _load_embedding(
        self, lib: Any, model: ModelSpec, params: LoadParams, n_ctx: int, threads: int, gpu_layers: int
    ) -> LlamaCppEmbedRunner:
        # Non-causal models must see the whole input in one micro-batch.
        kwargs: dict[str, Any] = {
            "n_ctx": n_ctx,
            "n_batch": n_ctx,
            "n_ubatch": n_ctx,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_gpu_layers": gpu_layers,
            "main_gpu": max(0, params.main_gpu),
            "use_mmap": params.use_mmap is not False,
            "embedding": True,
            "verbose": False,
        }
        if model.adapters:
            kwargs["lora_path"] = str(model.adapters[0])
        with _load_lock:
            try:
                llm = lib.Llama(str(model.model_path), **kwargs)
            except (ValueError, RuntimeError, OSError) as exc:
                raise CorralError(f"llama.cpp could not load model {model.name}: {exc}") from exc
        n_ctx = int(llm.n_ctx())
        memory = _estimate(model, n_ctx, n_ctx, slots=1)
        layers = int(lib.llama_model_n_layer(llm.model)) + 1
        offloaded = layers if gpu_layers < 0 else min(gpu_layers, layers)
        return LlamaCppEmbedRunner(
            lib, llm, memory_bytes=memory, vram_bytes=memory * offloaded // layers, n_threads=threads
        )


AUTO_SLOTS = 4
"""Slots a model gets when NUM_PARALLEL is 0 (auto), memory allowing (llama-server's default)."""


def auto_slots(weights_bytes: int, kv_bytes_per_slot: int) -> int:
    """Up to :data:`AUTO_SLOTS` slots, as many as fit in 80% of the memory available now."""
    available = available_memory()
    if available <= 0:
        return AUTO_SLOTS
    budget = int(available * 0.8) - weights_bytes
    fit = budget // max(1, kv_bytes_per_slot)
    return int(max(1, min(AUTO_SLOTS, fit)))


def _accelerator(host: HostInfo) -> str | None:
    return host.describe_accelerators()


def _rebuild_hint(host: HostInfo) -> str:
    """How to get GPU offload for the accelerator ``host`` has."""
    flag = "-DGGML_CUDA=on" if host.cuda_devices > 0 else "-DGGML_METAL=on"
    return f"rebuild llama-cpp-python with CMAKE_ARGS={flag}"


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


def _weights_bytes(model: ModelSpec) -> int:
    """The model's weights, and its projector's when it has one (loaded beside it)."""
    total = 0
    for path in (model.model_path, model.projector):
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path is not None else 0
    return total


def _estimate(model: ModelSpec, n_ctx: int, n_ubatch: int, *, slots: int) -> int:
    """Bytes for the weights plus ``slots`` KV caches of ``n_ctx`` tokens, from GGUF metadata."""
    n_embd = _int_meta(model, "embedding_length") or 0
    n_head = max(1, _int_meta(model, "attention.head_count") or 1)
    head_dim = n_embd // n_head if n_embd else 0
    n_vocab = _int_meta(model, "vocab_size") or 0
    return estimate_memory(
        weights_bytes=_weights_bytes(model),
        n_ctx=n_ctx * slots,
        n_ubatch=n_ubatch,
        n_layer=_int_meta(model, "block_count") or 0,
        n_head=n_head,
        n_head_kv=_int_meta(model, "attention.head_count_kv") or n_head,
        key_length=_int_meta(model, "attention.key_length") or head_dim,
        value_length=_int_meta(model, "attention.value_length") or head_dim,
        n_vocab=n_vocab,
    )
