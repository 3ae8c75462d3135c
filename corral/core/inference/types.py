"""Internal generate/chat requests and the chunks the core streams back (no wire format here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corral.core.engine import TokenLogprob
from corral.core.templates import Message, Tool, ToolCall

__all__ = ["ChatInput", "Chunk", "EmbedInput", "EmbedResult", "GenerateInput", "LogprobEntry", "Metrics"]


@dataclass
class GenerateInput:
    """``/api/generate`` (or ``/v1/completions``) after decoding."""

    model: str
    prompt: str = ""
    suffix: str = ""
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None
    raw: bool = False
    images: list[bytes] = field(default_factory=list)
    format: Any = None
    options: dict[str, Any] | None = None
    keep_alive_ns: int | None = None
    think: bool | str | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    truncate: bool = True
    shift: bool = True
    debug_render_only: bool = False
    logit_bias: dict[int, float] = field(default_factory=dict)
    """Token id → value added to its logit (OpenAI ``logit_bias``)."""


@dataclass
class ChatInput:
    """``/api/chat`` (or ``/v1/chat/completions``) after decoding."""

    model: str
    messages: list[Message] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    format: Any = None
    options: dict[str, Any] | None = None
    keep_alive_ns: int | None = None
    think: bool | str | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    truncate: bool = True
    shift: bool = True
    debug_render_only: bool = False
    logit_bias: dict[int, float] = field(default_factory=dict)
    """Token id → value added to its logit (OpenAI ``logit_bias``)."""


@dataclass
class Metrics:
    """Durations in nanoseconds and token counts, as Ollama reports them on the final chunk."""

    total_duration: int = 0
    load_duration: int = 0
    prompt_eval_count: int = 0
    """Prompt tokens evaluated by this request (cached ones not counted)."""
    prompt_cached: int = 0
    """Prompt tokens whose KV cache was reused (OpenAI ``prompt_tokens_details.cached_tokens``)."""
    prompt_eval_duration: int = 0
    eval_count: int = 0
    eval_duration: int = 0


@dataclass(frozen=True)
class LogprobEntry:
    """One generated token's log-probability and the most likely alternatives (``top``, most likely
    first); each dialect adapter shapes it for its wire format."""

    chosen: TokenLogprob
    top: tuple[TokenLogprob, ...] = ()


@dataclass
class Chunk:
    """One piece of a response. The last one has ``done=True``, a ``done_reason`` and metrics."""

    content: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    logprobs: list[LogprobEntry] = field(default_factory=list)
    done: bool = False
    done_reason: str | None = None
    metrics: Metrics | None = None
    context: list[int] | None = None
    debug_info: dict[str, Any] | None = None


@dataclass
class EmbedInput:
    """``/api/embed``, ``/api/embeddings`` or ``/v1/embeddings`` after decoding."""

    model: str
    inputs: list[str] = field(default_factory=list)
    truncate: bool = True
    dimensions: int = 0
    """Cut each vector to this many values (and normalize again) when 0 < dimensions < size."""
    normalize: bool = True
    """L2-normalize each vector (the legacy ``/api/embeddings`` does not)."""
    options: dict[str, Any] | None = None
    keep_alive_ns: int | None = None
    model_required: bool = False
    """An empty model name is 400 ``model is required`` (legacy) instead of 404."""


@dataclass
class EmbedResult:
    """One vector (float32) per input, with Ollama's metrics (nanoseconds, token counts)."""

    embeddings: list[Any] = field(default_factory=list)
    """``numpy.ndarray[float32]`` per input, in input order."""
    token_counts: list[int] = field(default_factory=list)
    total_duration: int = 0
    load_duration: int = 0

    @property
    def prompt_eval_count(self) -> int:
        """Tokens over all inputs (after truncation)."""
        return sum(self.token_counts)
