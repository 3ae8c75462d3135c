"""Handlers of /api/generate, /api/chat and /api/ps: NDJSON streams or one joined JSON object."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Stream

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.ollama.inference_schemas import ChatRequest, GenerateRequest, chat_input, generate_input
from corral.api.streaming import NDJSON, join_chunks, until_disconnect
from corral.core.catalog.describe import details
from corral.core.durations import FOREVER_NS
from corral.core.errors import CorralError
from corral.core.inference import Chunk
from corral.core.services import Services
from corral.core.templates import ToolCall
from corral.core.timefmt import rfc3339_local, rfc3339_utc_now

__all__ = ["HANDLERS"]

Svc = NamedDependency[Services]
_METRICS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)


def _tool_call(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if call.id:
        out["id"] = call.id
    out["function"] = {
        "index": call.function.index,
        "name": call.function.name,
        "arguments": call.function.arguments,
    }
    return out


def _final_fields(chunk: Chunk, out: dict[str, Any]) -> None:
    if chunk.done_reason:
        out["done_reason"] = chunk.done_reason
    if chunk.metrics is not None:
        for key in _METRICS:
            value = getattr(chunk.metrics, key)
            if value:
                out[key] = value
    if chunk.logprobs:
        out["logprobs"] = chunk.logprobs


def generate_object(model: str, chunk: Chunk) -> dict[str, Any]:
    """One ``/api/generate`` response object."""
    out: dict[str, Any] = {"model": model, "created_at": rfc3339_utc_now(), "response": chunk.content}
    if chunk.thinking:
        out["thinking"] = chunk.thinking
    out["done"] = chunk.done
    if chunk.context is not None:
        out["context"] = chunk.context
    if chunk.tool_calls:
        out["tool_calls"] = [_tool_call(c) for c in chunk.tool_calls]
    _final_fields(chunk, out)
    if chunk.debug_info is not None:
        return {"model": model, "created_at": out["created_at"], "_debug_info": chunk.debug_info}
    return out


def chat_object(model: str, chunk: Chunk) -> dict[str, Any]:
    """One ``/api/chat`` response object."""
    message: dict[str, Any] = {"role": "assistant", "content": chunk.content}
    if chunk.thinking:
        message["thinking"] = chunk.thinking
    if chunk.tool_calls:
        message["tool_calls"] = [_tool_call(c) for c in chunk.tool_calls]
    out: dict[str, Any] = {
        "model": model,
        "created_at": rfc3339_utc_now(),
        "message": message,
        "done": chunk.done,
    }
    _final_fields(chunk, out)
    if chunk.debug_info is not None:
        return {"model": model, "created_at": out["created_at"], "_debug_info": chunk.debug_info}
    return out


async def _respond(
    request: Request[Any, Any, Any],
    chunks: AsyncIterator[Chunk],
    stream: bool,
    to_object: Callable[[Chunk], dict[str, Any]],
) -> Response[Any]:
    # Pull the first chunk before answering, so errors raised before any output keep their status.
    first = await anext(chunks)
    if first.done and (first.done_reason in ("load", "unload") or first.debug_info is not None):
        return json_response(to_object(first))
    if not stream:
        # A client that disconnects while the chunks are gathered cancels the generation.
        return json_response(to_object(join_chunks(await until_disconnect(request, _gather(first, chunks)))))
    return Stream(_lines(first, chunks, to_object), media_type=NDJSON, status_code=200)


async def _gather(first: Chunk, chunks: AsyncIterator[Chunk]) -> list[Chunk]:
    out = [first]
    async for c in chunks:
        out.append(c)
    return out


async def _lines(
    first: Chunk, chunks: AsyncIterator[Chunk], to_object: Callable[[Chunk], dict[str, Any]]
) -> AsyncIterator[bytes]:
    yield msgspec.json.encode(to_object(first)) + b"\n"
    try:
        async for chunk in chunks:
            yield msgspec.json.encode(to_object(chunk)) + b"\n"
    except CorralError as exc:
        yield msgspec.json.encode({"error": exc.message}) + b"\n"


@post("/api/generate", status_code=200)
async def generate(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Complete a prompt (streams NDJSON unless ``stream`` is false)."""
    req = decode_body(await request.body(), GenerateRequest, "GenerateRequest")
    chunks = services.inference.generate(generate_input(req))
    return await _respond(request, chunks, req.stream is not False, lambda c: generate_object(req.model, c))


@post("/api/chat", status_code=200)
async def chat(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Answer a conversation (streams NDJSON unless ``stream`` is false)."""
    req = decode_body(await request.body(), ChatRequest, "ChatRequest")
    chunks = services.inference.chat(chat_input(req))
    return await _respond(request, chunks, req.stream is not False, lambda c: chat_object(req.model, c))


@get("/api/ps")
async def ps(services: Svc) -> Response[bytes]:
    """Models being loaded (with corral's ``loading`` field), then loaded models, latest expiry first."""
    models = []
    for loading in services.scheduler.loading_models():
        local = loading.local
        short = local.name.display_shortest()
        models.append(
            {
                "name": short,
                "model": short,
                "size": 0,
                "digest": local.digest,
                "details": details(services.store, local.manifest),
                "expires_at": rfc3339_local(FOREVER_NS),
                "size_vram": 0,
                "context_length": loading.load_params.num_ctx,
                "backend": {"name": loading.choice.backend.name, "reason": loading.choice.reason},
                "loading": {"progress": loading.progress(), "seconds": round(loading.seconds, 3)},
            }
        )
    for loaded in services.scheduler.running():
        local = loaded.local
        short = local.name.display_shortest()
        models.append(
            {
                "name": short,
                "model": short,
                "size": loaded.runner.memory_bytes,
                "digest": local.digest,
                "details": details(services.store, local.manifest),
                "expires_at": rfc3339_local(loaded.expires_at_ns),
                "size_vram": loaded.runner.vram_bytes,
                "context_length": loaded.runner.context_length,
                "backend": {"name": loaded.choice.backend.name, "reason": loaded.choice.reason},
                # corral's: slots in use and requests waiting for one (Ollama #11695).
                "slots": {"total": loaded.num_slots, "in_use": loaded.in_use, "waiting": loaded.waiting},
            }
        )
    return json_response({"models": models})


HANDLERS: list[Any] = [generate, chat, ps]
