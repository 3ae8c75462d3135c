"""Handlers of ``/v1/messages`` and ``/v1/messages/count_tokens``: one JSON message or SSE events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from corral.api.anthropic import to_anthropic as out
from corral.api.anthropic.from_anthropic import (
    MessagesPlan,
    from_count_tokens_request,
    from_messages_request,
)
from corral.api.anthropic.protocol import CountTokensRequest, CountTokensResponse, MessagesRequest
from corral.api.anthropic.stops import StopWatch
from corral.api.decode import decode_body
from corral.api.errors import anthropic_error_body, json_response
from corral.api.forcing import forced_chunks
from corral.api.streaming import SSE, gather, join_chunks, resume, sse_event, until_disconnect
from corral.api.tokens import tokenizing
from corral.core.errors import CorralError
from corral.core.inference import Chunk
from corral.core.inference.prepare import lookup
from corral.core.services import Services

__all__ = ["HANDLERS"]

Svc = NamedDependency[Services]


async def _relax_think(services: Services, plan: MessagesPlan) -> None:
    """Like Ollama, ``thinking`` asked of a model that cannot think is dropped, not refused."""
    if plan.input.think:
        ctx = await to_thread.run_sync(lambda: lookup(services.store, plan.model, empty_status=400))
        if "thinking" not in ctx.capabilities:
            plan.input.think = None


async def _input_tokens(services: Services, plan: MessagesPlan, final: Chunk) -> int | None:
    # A generation cut at a stop sequence ends without metrics: count its prompt instead.
    if final.metrics is not None:
        return None
    return await tokenizing(services).count_chat(plan.input)


async def _events(
    services: Services, plan: MessagesPlan, first: Chunk, rest: AsyncIterator[Chunk], watch: StopWatch
) -> AsyncIterator[bytes]:
    stream = out.EventStream(out.new_message_id(), plan.model)
    for name, data in stream.start():
        yield sse_event(name, data)
    try:
        chunk = first
        async for chunk in resume(first, rest):
            for name, data in stream.push(chunk):
                yield sse_event(name, data)
        end = out.stop_reason(chunk, stream.made_calls, watch.matched)
        for name, data in stream.finish(chunk, end, await _input_tokens(services, plan, chunk)):
            yield sse_event(name, data)
    except CorralError as exc:
        yield b"event: error\ndata: " + anthropic_error_body(exc.message, exc.status) + b"\n\n"


@post("/messages", status_code=200)
async def messages(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Anthropic's Messages API over the core's chat (``stream`` defaults to false)."""
    req = decode_body(await request.body(), MessagesRequest, "MessagesRequest")
    plan = from_messages_request(req)
    await _relax_think(services, plan)
    watch = StopWatch(plan.stops)
    chunks = watch.watch(services.inference.chat(plan.input))
    if plan.force_tool:
        chunks = forced_chunks(chunks)
    # The first chunk is awaited here so errors before any output keep their HTTP status.
    first = await anext(chunks)
    if plan.stream:
        return Stream(_events(services, plan, first, chunks, watch), media_type=SSE, status_code=200)
    joined = join_chunks(await until_disconnect(request, gather(resume(first, chunks))))
    end = out.stop_reason(joined, bool(joined.tool_calls), watch.matched)
    body = out.message(
        out.new_message_id(), plan.model, joined, end, await _input_tokens(services, plan, joined)
    )
    if joined.metrics is None:
        body.usage.output_tokens = watch.pieces
    return json_response(body)


@post("/messages/count_tokens", status_code=200)
async def count_tokens(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """The number of prompt tokens a Messages request renders to, without running the model."""
    req = decode_body(await request.body(), CountTokensRequest, "CountTokensRequest")
    count = await tokenizing(services).count_chat(from_count_tokens_request(req))
    return json_response(CountTokensResponse(input_tokens=count))


HANDLERS: list[HTTPRouteHandler] = [messages, count_tokens]
