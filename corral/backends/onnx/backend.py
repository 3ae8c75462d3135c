"""OnnxBackend: GGUF models converted to ONNX and run by ONNX Runtime (CUDA or CPU).

Probe: the ``llama`` family and ``gemma3`` with tensor types the converter maps, a tokenizer the
shared GGUF tokenizer implements, and onnxruntime importable. The provider is
CUDAExecutionProvider when onnxruntime-gpu offers it *and* the host has a CUDA device, else
CPUExecutionProvider; the probe's reason says which and why. Scores (see
:mod:`corral.core.backend_choice`): CUDA 110 (below llama.cpp on a GPU, 120), CPU 40 (below
llama.cpp on the CPU, 50; above the reference engine, 10).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from corral.backends.onnx.support import ARCHITECTURES, MAX_ROPE_POSITIONS
from corral.backends.onnx.weights import can_convert
from corral.core.engine import BackendStatus, Fit, HostInfo, LoadParams, ModelSpec
from corral.core.errors import CorralError

if TYPE_CHECKING:  # onnxruntime is imported on first load, not at startup
    from corral.backends.onnx.runner import OnnxRunner

__all__ = ["CPU_SCORE", "CUDA_SCORE", "OnnxBackend", "providers_available"]

log = logging.getLogger(__name__)

CUDA_SCORE = 110.0
CPU_SCORE = 40.0
INSTALL_HINT = "pip install 'corral[onnx]' (or 'corral[gpu]' for onnxruntime-gpu)"
_TOKENIZERS = frozenset({"llama", "gpt2"})


@functools.cache
def _runtime() -> tuple[Any, str | None]:
    """onnxruntime (or None) and why it cannot be used. The converter needs ``onnx`` as well, so
    both must import for the backend to be available."""
    try:
        import onnx  # noqa: F401  (the GGUF → ONNX converter)
        import onnxruntime
    except Exception as exc:  # ImportError, or OSError from a broken shared library
        return None, f"{type(exc).__name__}: {exc}"
    return onnxruntime, None


def providers_available() -> list[str] | None:
    """ONNX Runtime's execution providers, or None when onnx/onnxruntime is not importable."""
    runtime, _ = _runtime()
    return None if runtime is None else list(runtime.get_available_providers())


def unsupported_reason(model: ModelSpec) -> str | None:
    """Why the converter cannot take ``model``, or None when it can."""
    if model.architecture not in ARCHITECTURES:
        supported = ", ".join(sorted(ARCHITECTURES))
        return f"architecture {model.architecture!r} is not converted (supported: {supported})"
    bad = sorted(t for t in model.tensor_types if not can_convert(t))
    if bad:
        return f"tensor types {', '.join(bad)} have no ONNX mapping"
    tokenizer = model.metadata.get("tokenizer.ggml.model")
    if tokenizer is not None and tokenizer not in _TOKENIZERS:
        return f"tokenizer {tokenizer!r} is not implemented by the shared GGUF tokenizer"
    if model.adapters or model.projector is not None:
        return "adapters and projectors are not supported"
    return None


class OnnxBackend:
    """GGUF → ONNX (cached per digest) → ONNX Runtime."""

    name = "onnx"

    def status(self, host: HostInfo) -> BackendStatus:
        """Available when onnx and onnxruntime import; on CUDA with onnxruntime-gpu and a CUDA device."""
        runtime, error = _runtime()
        if runtime is None:
            return BackendStatus(False, f"onnx/onnxruntime is not importable ({error}): {INSTALL_HINT}")
        version = f"onnxruntime {runtime.__version__}"
        providers = runtime.get_available_providers()
        if "CUDAExecutionProvider" in providers and host.cuda_devices > 0:
            return BackendStatus(True, "ONNX Runtime CUDAExecutionProvider", version, "cuda")
        return BackendStatus(True, "ONNX Runtime CPUExecutionProvider", version)

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        """A fit for supported models when onnxruntime is importable; None (reason logged) otherwise."""
        providers = providers_available()
        if providers is None:
            log.info(
                "onnx backend unavailable for %s: onnxruntime is not importable (%s)",
                model.name,
                INSTALL_HINT,
            )
            return None
        reason = unsupported_reason(model)
        if reason is not None:
            log.info("onnx backend cannot run %s: %s", model.name, reason)
            return None
        cuda_ep = "CUDAExecutionProvider" in providers
        if cuda_ep and host.cuda_devices > 0:
            return Fit(
                CUDA_SCORE,
                f"onnx: ONNX Runtime CUDAExecutionProvider on {host.cuda_devices} CUDA device(s)",
                gpu=True,
            )
        if host.cuda_devices > 0:
            why = (
                "onnxruntime-gpu is not installed, so no CUDAExecutionProvider, "
                "although the host has a CUDA device"
            )
        elif cuda_ep:
            why = "CUDAExecutionProvider is installed but the host has no CUDA device"
        elif host.metal:
            why = "ONNX Runtime has no Metal provider"
        else:
            why = "no GPU on this host"
        return Fit(CPU_SCORE, f"onnx: ONNX Runtime CPUExecutionProvider ({why})")

    def load_progress(self, model: ModelSpec) -> float | None:
        """The GGUF → ONNX conversion's fraction done while :meth:`load` converts ``model``;
        None before and after it (reading the tokenizer, opening the session, reusing the cache)."""
        if "corral.backends.onnx.cache" not in sys.modules:  # nothing converted in this process yet
            return None
        from corral.backends.onnx.cache import conversions

        return conversions.get(model.digest.removeprefix("sha256:"))

    def load(self, model: ModelSpec, params: LoadParams) -> OnnxRunner:
        """Convert the GGUF (or reuse the cached conversion) and open an ONNX Runtime session."""
        import onnxruntime as ort

        from corral.backends.onnx.cache import convert_cached
        from corral.backends.onnx.runner import OnnxRunner
        from corral.core.tokenizer import GGUFTokenizer

        reason = unsupported_reason(model)
        if reason is not None:
            raise CorralError(f"the onnx backend cannot run model {model.name}: {reason}")
        try:
            tokenizer = GGUFTokenizer.from_gguf(model.model_path)
            converted = convert_cached(model.model_path, model.digest, model.name)
        except (OSError, ValueError, KeyError) as exc:
            raise CorralError(f"the onnx backend could not convert model {model.name}: {exc}") from exc
        cuda = params.num_gpu != 0 and "CUDAExecutionProvider" in (providers_available() or [])
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = params.num_thread if params.num_thread > 0 else _cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(converted.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise CorralError(f"ONNX Runtime could not load model {model.name}: {exc}") from exc
        trained = int(_meta(session, "context_length") or MAX_ROPE_POSITIONS)
        n_ctx = trained if params.num_ctx <= 0 else min(params.num_ctx, trained)
        n_layer = int(_meta(session, "n_layer") or 0)
        kv = next(i for i in session.get_inputs() if i.name == "past_key_0")
        kv_bytes = 2 * n_layer * n_ctx * int(kv.shape[1]) * int(kv.shape[3]) * 4
        memory = converted.bytes + kv_bytes
        return OnnxRunner(
            session,
            tokenizer,
            context_length=n_ctx,
            batch=params.num_batch,
            memory_bytes=memory,
            vram_bytes=memory if cuda else 0,
            device="cuda" if cuda else "cpu",
            embedding=params.embedding,
        )


def _meta(session: object, key: str) -> str | None:
    props: dict[str, str] = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    return props.get(key)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
