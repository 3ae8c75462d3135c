"""Handlers of /api/generate and /api/chat: NDJSON streams or one joined JSON object."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.ollama.from_ollama import chat_input, generate_input
from corral.api.ollama.protocol import ChatRequest, GenerateRequest
from corral.api.ollama.to_ollama import chat_response, generate_response
from corral.api.streaming import (
    NDJSON,
    first_chunk,
    gather,
    join_chunks,
    ndjson_line,
    resume,
    until_disconnect,
)
from corral.core.errors import CorralError
from corral.core.inference import Chunk
from corral.core.services import Services

__all__ = ["HANDLERS"]

Svc = NamedDependency[Services]
ToWire = Callable[[Chunk], msgspec.Struct]


async def _respond(
    request: Request[Any, Any, Any], chunks: AsyncIterator[Chunk], stream: bool, to_wire: ToWire
) -> Response[Any]:
    # Pull the first chunk before answering, so errors raised before any output keep their status.
    first = await first_chunk(request, chunks)  # a gone client leaves the queue
    if first.done and (first.done_reason in ("load", "unload") or first.debug_info is not None):
        return json_response(to_wire(first))
    if not stream:
        # A client that disconnects while the chunks are gathered cancels the generation.
        return json_response(
            to_wire(join_chunks(await until_disconnect(request, gather(resume(first, chunks)))))
        )
    return Stream(_lines(resume(first, chunks), to_wire), media_type=NDJSON, status_code=200)


async def _lines(chunks: AsyncIterator[Chunk], to_wire: ToWire) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield ndjson_line(to_wire(chunk))
    except CorralError as exc:
        yield ndjson_line({"error": exc.message})


@post("/api/generate", status_code=200)
async def generate(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Complete a prompt (streams NDJSON unless ``stream`` is false)."""
    req = decode_body(await request.body(), GenerateRequest, "GenerateRequest")
    chunks = services.inference.generate(generate_input(req))
    return await _respond(request, chunks, req.stream is not False, lambda c: generate_response(req.model, c))


@post("/api/chat", status_code=200)
async def chat(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Answer a conversation (streams NDJSON unless ``stream`` is false)."""
    req = decode_body(await request.body(), ChatRequest, "ChatRequest")
    chunks = services.inference.chat(chat_input(req))
    return await _respond(request, chunks, req.stream is not False, lambda c: chat_response(req.model, c))


HANDLERS: list[Any] = [generate, chat]
