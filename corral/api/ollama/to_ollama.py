"""Core results → Ollama response objects: generate and chat chunks, embeddings, loaded models.

Pure functions, no I/O (except reading the clock for ``created_at``).
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from corral.api.ollama.protocol import (
    ChatMessage,
    ChatResponse,
    DebugResponse,
    EmbeddingResponse,
    EmbedResponse,
    GenerateResponse,
    ProcessModel,
    ToolCallFunctionOut,
    ToolCallOut,
)
from corral.core.inference import Chunk, LogprobEntry, Metrics
from corral.core.inference.types import EmbedResult
from corral.core.store import LocalModel
from corral.core.templates import ToolCall
from corral.core.timefmt import rfc3339_local, rfc3339_utc_now

__all__ = [
    "chat_response",
    "embed_response",
    "embedding_response",
    "float32_values",
    "generate_response",
    "process_model",
]


def _tool_calls(calls: list[ToolCall]) -> list[ToolCallOut] | None:
    if not calls:
        return None
    return [
        ToolCallOut(
            id=c.id,
            function=ToolCallFunctionOut(
                index=c.function.index, name=c.function.name, arguments=c.function.arguments
            ),
        )
        for c in calls
    ]


class _End(TypedDict):
    """The fields a generation's last object adds (zero and empty ones are left out on the wire)."""

    done_reason: str
    total_duration: int
    load_duration: int
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int
    logprobs: list[dict[str, Any]] | None


def _end(chunk: Chunk) -> _End:
    m = chunk.metrics or Metrics()
    return _End(
        done_reason=chunk.done_reason or "",
        total_duration=m.total_duration,
        load_duration=m.load_duration,
        prompt_eval_count=m.prompt_eval_count,
        prompt_eval_duration=m.prompt_eval_duration,
        eval_count=m.eval_count,
        eval_duration=m.eval_duration,
        logprobs=[ollama_logprob(e) for e in chunk.logprobs] or None,
    )


def ollama_logprob(entry: LogprobEntry) -> dict[str, Any]:
    """Ollama's ``logprobs`` item: ``{token, logprob, bytes, top_logprobs?}`` (bytes as numbers)."""
    chosen = entry.chosen
    item: dict[str, Any] = {"token": chosen.token, "logprob": chosen.logprob, "bytes": list(chosen.bytes)}
    if entry.top:
        item["top_logprobs"] = [
            {"token": t.token, "logprob": t.logprob, "bytes": list(t.bytes)} for t in entry.top
        ]
    return item


def generate_response(model: str, chunk: Chunk) -> GenerateResponse | DebugResponse:
    """One ``/api/generate`` object."""
    now = rfc3339_utc_now()
    if chunk.debug_info is not None:
        return DebugResponse(model=model, created_at=now, debug_info=chunk.debug_info)
    return GenerateResponse(
        model=model,
        created_at=now,
        response=chunk.content,
        thinking=chunk.thinking,
        done=chunk.done,
        context=chunk.context,
        tool_calls=_tool_calls(chunk.tool_calls),
        **_end(chunk),
    )


def chat_response(model: str, chunk: Chunk) -> ChatResponse | DebugResponse:
    """One ``/api/chat`` object."""
    now = rfc3339_utc_now()
    if chunk.debug_info is not None:
        return DebugResponse(model=model, created_at=now, debug_info=chunk.debug_info)
    message = ChatMessage(
        role="assistant",
        content=chunk.content,
        thinking=chunk.thinking,
        tool_calls=_tool_calls(chunk.tool_calls),
    )
    return ChatResponse(model=model, created_at=now, message=message, done=chunk.done, **_end(chunk))


def float32_values(vector: npt.NDArray[np.float32]) -> list[float]:
    """A float32 vector as the shortest decimals that read back to the same float32 (Go's output)."""
    return [float(str(x)) for x in vector.astype(np.float32)]


def embed_response(model: str, result: EmbedResult, had_input: bool) -> EmbedResponse:
    """``/api/embed``: no metrics when there was nothing to embed."""
    if not had_input:
        return EmbedResponse(model=model, embeddings=[])
    return EmbedResponse(
        model=model,
        embeddings=[float32_values(v) for v in result.embeddings],
        total_duration=result.total_duration,
        load_duration=result.load_duration,
        prompt_eval_count=result.prompt_eval_count,
    )


def embedding_response(result: EmbedResult) -> EmbeddingResponse:
    """The legacy ``/api/embeddings``: the first vector as float64, not normalized."""
    vectors = result.embeddings
    return EmbeddingResponse(embedding=vectors[0].astype(np.float64).tolist() if vectors else [])


def process_model(
    local: LocalModel,
    details: dict[str, Any],
    *,
    size: int,
    size_vram: int,
    expires_at_ns: int,
    context_length: int,
    backend: dict[str, Any],
    slots: dict[str, int] | None = None,
    loading: dict[str, Any] | None = None,
) -> ProcessModel:
    """One ``/api/ps`` entry (``loading`` — progress and seconds — while the model loads)."""
    short = local.name.display_shortest()
    return ProcessModel(
        name=short,
        model=short,
        size=size,
        digest=local.digest,
        details=details,
        expires_at=rfc3339_local(expires_at_ns),
        size_vram=size_vram,
        context_length=context_length,
        backend=backend,
        slots=slots,
        loading=loading,
    )
