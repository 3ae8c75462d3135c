"""The contract between corral and an inference engine: Backend, Runner and their value types.

A *Backend* looks at a model and says whether and how well it can run it (:meth:`Backend.probe`),
then loads it into a *Runner* (:meth:`Backend.load`). A Runner owns the loaded weights: it
tokenizes, detokenizes, generates token by token and embeds. Runners never see HTTP, templates or
stop strings; the core does those. Plugins provide backends through the
``corral_register_backends`` hook (see :mod:`corral.plugins.hookspecs`, which summarises this
contract beside the hooks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_FORMATS",
    "Backend",
    "BackendStatus",
    "Fit",
    "GenerateParams",
    "GpuInfo",
    "HostInfo",
    "LoadParams",
    "ModelSpec",
    "PromptStats",
    "Runner",
    "RunnerCapabilities",
    "SamplingOptions",
    "TokenLogprob",
    "TokenOut",
    "capabilities_of",
    "formats_of",
]


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA GPU as the driver reports it."""

    index: int
    name: str
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class HostInfo:
    """What the machine offers. Probes read this instead of sniffing the host themselves,
    so tests can describe a CUDA or Metal machine on a CPU-only one."""

    cpu_count: int
    memory_bytes: int
    cuda_devices: int = 0
    metal: bool = False
    gpu_memory_bytes: int = 0
    """All GPUs' memory together (on Apple silicon, the unified memory)."""
    gpus: tuple[GpuInfo, ...] = ()
    """The CUDA GPUs, when the driver described them (``cuda_devices`` counts them either way)."""

    def describe_accelerators(self) -> str | None:
        """The accelerators in words (``CUDA: 2 × NVIDIA A10G 24 GiB``, ``Metal``), None without any."""
        if self.gpus:
            groups: dict[tuple[str, int], int] = {}
            for gpu in self.gpus:
                key = (gpu.name, round(gpu.total_bytes / (1 << 30)))
                groups[key] = groups.get(key, 0) + 1
            parts = [f"{count} × {name} {gib} GiB" for (name, gib), count in groups.items()]
            return "CUDA: " + ", ".join(parts)
        if self.cuda_devices > 0:
            return f"CUDA: {self.cuda_devices} device{'s' if self.cuda_devices > 1 else ''}"
        if self.metal:
            return "Metal"
        return None


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend can run anything on this host, in words an operator reads
    (``corral backends``, ``GET /api/backends``)."""

    available: bool
    reason: str
    """Why it is (un)available. When a Python extra is missing, the ``pip install`` line that adds it."""
    version: str | None = None
    """The engine's version (the library's, e.g. llama-cpp-python's), when known."""
    accelerator: str = "cpu"
    """What it would run on here: ``cpu``, ``cuda`` or ``metal`` (``cpu`` when unavailable)."""


@dataclass(frozen=True)
class ModelSpec:
    """A model as the store resolved it: everything a backend needs to probe and load it."""

    name: str
    """Fully qualified name, e.g. ``registry.ollama.ai/library/gemma3:270m``."""
    model_path: Path
    """The weights blob (``blobs/sha256-...``): a GGUF file unless :attr:`format` says otherwise."""
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
    format: str = "gguf"
    """The weights' container: ``gguf``, or a legacy GGML one (``ggml``, ``ggmf``, ``ggjt``) whose
    header the core described with GGUF keys. Only backends listing it in ``formats`` see it."""


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
    num_parallel: int = 0
    """Sequences to serve at once (slots), each with ``num_ctx`` tokens of context; 0 lets the
    backend decide (llama.cpp: up to 4 when memory allows). Single-sequence backends ignore it."""


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
    """Already fitted to the context by the core (:mod:`corral.core.limits`)."""
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    num_predict: int = -1
    """Tokens to generate at most. The core always passes a positive limit (Ollama's -1, -2 and 0
    become ten times the context); -1 is kept for runners called directly."""
    num_keep: int = 4
    """Prompt tokens a context shift keeps (-1: the whole prompt)."""
    shift: bool = True
    """When the context fills: drop the oldest half after ``num_keep`` and go on (runners whose
    capabilities say ``context_shift``); False ends the generation there (``done_reason: "length"``)."""
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
    images: tuple[bytes, ...] = ()
    """Images in the prompt, as the client sent them (PNG, JPEG... file bytes), for runners whose
    capabilities say ``images`` (the core refuses them otherwise)."""
    image_positions: tuple[int, ...] = ()
    """Where each image goes: image ``i`` is evaluated just before ``prompt_tokens[image_positions[i]]``
    (``len(prompt_tokens)``: at the end). Non-decreasing, one per image."""


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: bytes


@dataclass(frozen=True)
class PromptStats:
    """How a runner handled a prompt: reported on a generation's first :class:`TokenOut`."""

    evaluated: int
    """Prompt tokens computed by this generation."""
    cached: int = 0
    """Prompt tokens whose KV cache was reused (from this slot's previous request or copied from
    another slot); ``evaluated + cached`` is the prompt's length."""


@dataclass(frozen=True)
class RunnerCapabilities:
    """What a Runner can do. The core checks a request against these *before* it runs, and refuses
    (400) what the runner cannot honour instead of letting it be ignored."""

    sequences: int = 1
    """Generations the runner serves at once: ``generate`` may be called from this many threads
    concurrently (1: the scheduler serialises)."""
    constrained_output: bool = False
    """``grammar``, ``json_schema`` and ``json_mode`` in :class:`GenerateParams` are enforced."""
    logprobs: bool = False
    """``logprobs``/``top_logprobs`` are reported on each :class:`TokenOut`."""
    context_shift: bool = False
    """A generation that fills the context shifts the window itself (see ``GenerateParams.shift``);
    without it the core ends generation when the context is full."""
    embeddings: bool = False
    """``embed`` works (on a runner loaded with ``LoadParams.embedding``)."""
    images: bool = False
    """Images in the prompt are understood (a projector is loaded)."""


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
    prompt: PromptStats | None = None
    """Set on the first token of a generation by runners that cache prompts."""


@runtime_checkable
class Runner(Protocol):
    """A loaded model. Methods are called from worker threads, never from the event loop.

    A runner may declare ``capabilities: RunnerCapabilities`` (not part of the protocol, looked up
    with ``getattr``). Without it, it serves one generation at a time, with no constrained output,
    logprobs or context shift — the simple path for a plugin. (A legacy ``max_parallel`` attribute
    is read as ``capabilities.sequences``.) With ``sequences > 1``, ``generate`` is called from that
    many threads at once, each consuming its own iterator; a batching runner interleaves them.

    The core fits prompts to ``context_length`` and enforces ``num_predict`` itself; a runner only
    has to stop at EOG, at ``cancel``, when closed, and when its context is full (or shift it).
    """

    backend: str
    context_length: int
    """Context of one sequence (``num_ctx``, capped at the model's trained length)."""

    @property
    def memory_bytes(self) -> int:
        """Total memory the loaded model uses (a plain attribute is fine)."""

    vram_bytes: int
    """The part of ``memory_bytes`` held in accelerator memory."""

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

    Optional methods (not part of the protocol, so backends without them keep working; the core
    looks them up with ``getattr``)::

        def status(self, host: HostInfo) -> BackendStatus: ...

    Whether the backend can run at all on ``host`` (its library importable, its version, the
    accelerator it would use). A backend whose Python dependency is missing stays registered and
    answers ``available=False`` with a reason naming the extra to install; the core then never
    probes it, refuses it as an override with that reason, and lists it in ``corral backends``.
    Without the method a backend counts as available. Must be cheap and never raise.

    ::

        def load_progress(self, model: ModelSpec) -> float | None: ...

    How far a :meth:`load` of ``model`` running in another thread has got, from 0.0 to 1.0, or
    None when unknown. ``/api/ps`` shows it for models being loaded (the onnx backend reports its
    GGUF → ONNX conversion). Called from the event loop while the load runs: must be cheap and
    thread-safe.

    ::

        formats: tuple[str, ...]

    The weight containers the backend reads (:attr:`ModelSpec.format`); without it, ``("gguf",)``.
    A model in another container is never probed by it.
    """

    name: str

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        """Return a :class:`Fit` if this backend can run ``model`` on ``host``, else None.

        Must be cheap (no weight loading) and must not raise for models it cannot run.
        """

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        """Load ``model`` and return a ready Runner. Raise :class:`corral.core.errors.CorralError`
        with a clear message when the model cannot be loaded."""


DEFAULT_FORMATS: tuple[str, ...] = ("gguf",)
"""The containers a backend without a ``formats`` attribute reads."""


def formats_of(backend: Backend) -> tuple[str, ...]:
    """The weight containers ``backend`` declares (``formats``), else :data:`DEFAULT_FORMATS`."""
    declared = getattr(backend, "formats", None)
    if isinstance(declared, tuple | list | frozenset | set) and all(isinstance(f, str) for f in declared):
        return tuple(declared)
    return DEFAULT_FORMATS


def capabilities_of(runner: Runner) -> RunnerCapabilities:
    """A runner's declared capabilities; a runner without them serves one plain generation at a time
    (a legacy ``max_parallel`` attribute counts as ``sequences``)."""
    declared = getattr(runner, "capabilities", None)
    if isinstance(declared, RunnerCapabilities):
        return declared
    return RunnerCapabilities(sequences=max(1, int(getattr(runner, "max_parallel", 1) or 1)))
