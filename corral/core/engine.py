"""The contract between corral and an inference engine: Backend, Runner and their value types.

A *Backend* looks at a model and says whether and how well it can run it (:meth:`Backend.probe`),
then loads it into a *Runner* (:meth:`Backend.load`). A Runner owns the loaded weights: it
tokenizes, detokenizes, generates token by token and embeds. Runners never see HTTP, templates or
stop strings; the core does those. Plugins provide backends through the ``corral_backends`` hook
(see :mod:`corral.plugins.hookspecs`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Backend",
    "Fit",
    "GenerateParams",
    "HostInfo",
    "LoadParams",
    "ModelSpec",
    "Runner",
    "SamplingOptions",
    "TokenLogprob",
    "TokenOut",
]


@dataclass(frozen=True)
class HostInfo:
    """What the machine offers. Probes read this instead of sniffing the host themselves,
    so tests can describe a CUDA or Metal machine on a CPU-only one."""

    cpu_count: int
    memory_bytes: int
    cuda_devices: int = 0
    metal: bool = False
    gpu_memory_bytes: int = 0


@dataclass(frozen=True)
class ModelSpec:
    """A model as the store resolved it: everything a backend needs to probe and load it."""

    name: str
    """Fully qualified name, e.g. ``registry.ollama.ai/library/gemma3:270m``."""
    model_path: Path
    """The GGUF blob (``blobs/sha256-...``)."""
    digest: str
    """``sha256:<hex>`` of the model blob."""
    architecture: str
    """``general.architecture`` from the GGUF (``llama``, ``gemma3``, ``bert``...)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """GGUF key/values (large arrays left out), for probes that care about more."""
    tensor_types: frozenset[str] = frozenset()
    """Names of the GGML tensor types present (``F32``, ``Q4_K``...)."""
    adapters: tuple[Path, ...] = ()
    projector: Path | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """The model's stored parameters (its params layer), including a ``backend`` override."""


@dataclass(frozen=True)
class Fit:
    """A probe's answer: how well a backend suits a model, and why, in words an operator reads."""

    score: float
    """Higher wins. Conventions: accelerator 100+, native CPU engine 50, reference engine 10."""
    reason: str
    gpu: bool = False
    """Whether the backend would offload to an accelerator."""


@dataclass(frozen=True)
class LoadParams:
    """Load-time options (a change to any of them means a reload)."""

    num_ctx: int = 4096
    num_batch: int = 512
    num_gpu: int = -1
    """Layers to offload; -1 lets the backend decide, 0 keeps everything on the CPU."""
    main_gpu: int = 0
    num_thread: int = 0
    """0 lets the backend decide."""
    use_mmap: bool | None = None
    embedding: bool = False
    """Load for embeddings rather than generation."""


@dataclass(frozen=True)
class SamplingOptions:
    """Ollama's sampling options, already type-checked and range-checked by the core."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.9
    min_p: float = 0.0
    typical_p: float = 1.0
    repeat_last_n: int = 64
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int = -1
    """-1: random."""


@dataclass(frozen=True)
class GenerateParams:
    """One generation request as a Runner sees it."""

    prompt_tokens: Sequence[int]
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    num_predict: int = -1
    """Tokens to generate at most; -1 until the context is full."""
    num_keep: int = 4
    grammar: str | None = None
    """A GBNF grammar constraining the output, or None."""
    json_schema: Mapping[str, Any] | None = None
    """A JSON schema constraining the output (backends may turn it into a grammar)."""
    json_mode: bool = False
    """Constrain the output to any JSON value."""
    logprobs: bool = False
    top_logprobs: int = 0
    logit_bias: Mapping[int, float] = field(default_factory=dict)
    """Added to these tokens' logits before any other sampling step (OpenAI ``logit_bias``; the core
    checked the ids are in the vocabulary). Empty: no bias."""


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: bytes


@dataclass(frozen=True)
class TokenOut:
    """One generated token."""

    id: int
    piece: bytes
    """The token's bytes (may be part of a UTF-8 character; the core joins them)."""
    logprob: TokenLogprob | None = None
    top_logprobs: tuple[TokenLogprob, ...] = ()
    eog: bool = False
    """True when the token ends generation (EOS/EOT); its piece is not shown to the user."""


@runtime_checkable
class Runner(Protocol):
    """A loaded model. Methods are called from worker threads, never from the event loop.

    ``generate`` may be called from up to ``max_parallel`` threads at once; a runner that cannot
    interleave generations sets ``max_parallel = 1`` and the scheduler serialises for it.
    """

    backend: str
    context_length: int
    memory_bytes: int
    """Total memory the loaded model uses."""
    vram_bytes: int
    """The part of ``memory_bytes`` held in accelerator memory."""
    max_parallel: int

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Text to token ids (``add_special`` adds BOS/EOS as the model's metadata says)."""

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes (special tokens rendered as text)."""

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Yield tokens one at a time until EOG, ``num_predict``, a full context or ``cancel``."""

    def embed(self, tokens: Sequence[int]) -> list[float]:
        """Pooled embedding of one token sequence (not normalized; the core normalizes)."""

    def close(self) -> None:
        """Free the model's memory. Called once; the runner is not used afterwards."""


@runtime_checkable
class Backend(Protocol):
    """An inference engine. ``name`` is what ``PARAMETER backend`` and ``CORRAL_BACKEND`` use.

    Optional method (not part of the protocol, so backends without it keep working; the core
    looks it up with ``getattr``)::

        def load_progress(self, model: ModelSpec) -> float | None: ...

    How far a :meth:`load` of ``model`` running in another thread has got, from 0.0 to 1.0, or
    None when unknown. ``/api/ps`` shows it for models being loaded (the onnx backend reports its
    GGUF → ONNX conversion). Called from the event loop while the load runs: must be cheap and
    thread-safe.
    """

    name: str

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        """Return a :class:`Fit` if this backend can run ``model`` on ``host``, else None.

        Must be cheap (no weight loading) and must not raise for models it cannot run.
        """

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        """Load ``model`` and return a ready Runner. Raise :class:`corral.core.errors.CorralError`
        with a clear message when the model cannot be loaded."""
