"""Wire types of OpenAI's /v1/chat/completions and /v1/completions requests (decoding only).

Fields whose JSON type varies (``messages``, ``stop``, ``tool_choice``, ``response_format``...)
are decoded as ``Any`` and checked by :mod:`corral.api.openai.from_openai`, which words the
errors as Ollama does; the rest get Go ``encoding/json``-style messages from ``decode_body``.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["ChatCompletionRequest", "CompletionRequest", "StreamOptions"]


class StreamOptions(msgspec.Struct, kw_only=True):
    """``stream_options``: only ``include_usage`` has an effect."""

    include_usage: bool | None = None


class ChatCompletionRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/chat/completions``; unknown fields are ignored."""

    model: str = ""
    messages: Any = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    seed: int | None = None
    stop: Any = None
    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    response_format: Any = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    reasoning_effort: str | None = None
    reasoning: Any = None
    user: Any = None
    logit_bias: Any = None
    debug_render_only: bool = msgspec.field(default=False, name="_debug_render_only")


class CompletionRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/completions`` (the legacy text-completion endpoint)."""

    model: str = ""
    prompt: Any = None
    suffix: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: Any = None
    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    n: int | None = None
    best_of: int | None = None
    echo: bool | None = None
    logprobs: int | None = None
    user: Any = None
    logit_bias: Any = None
