"""Handlers of ``/v1/responses`` (create, retrieve, delete): one JSON object or named SSE events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Stream

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.forcing import forced_chunks
from corral.api.responses import to_responses as out
from corral.api.responses.from_responses import ResponsesPlan, from_responses_request
from corral.api.responses.protocol import ResponseObject, ResponsesRequest
from corral.api.responses.store import ResponseStore, Stored
from corral.api.streaming import SSE, gather, join_chunks, resume, sse_event, until_disconnect
from corral.core.errors import CorralError
from corral.core.inference import Chunk
from corral.core.services import Services

__all__ = ["HANDLERS", "STORE_STATE_KEY", "store_of"]

Svc = NamedDependency[Services]

STORE_STATE_KEY = "corral_responses"
"""Where the app keeps its :class:`ResponseStore` in ``app.state`` (created on first use)."""


def store_of(request: Request[Any, Any, Any]) -> ResponseStore:
    """The app's response store."""
    store = request.app.state.get(STORE_STATE_KEY)
    if not isinstance(store, ResponseStore):
        store = request.app.state[STORE_STATE_KEY] = ResponseStore()
    return store


def _remember(store: ResponseStore, plan: ResponsesPlan, done: ResponseObject) -> None:
    if plan.store:
        store.put(Stored(done, [*plan.conversation, out.assistant_message(done.output)]))


async def _events(
    store: ResponseStore, plan: ResponsesPlan, start: ResponseObject, first: Chunk, rest: AsyncIterator[Chunk]
) -> AsyncIterator[bytes]:
    stream = out.EventStream(start)
    for name, data in stream.begin():
        yield sse_event(name, data)
    chunk = first
    try:
        async for chunk in resume(first, rest):
            for name, data in stream.push(chunk):
                yield sse_event(name, data)
    except CorralError as exc:
        name, data = stream.failed("server_error" if exc.status >= 500 else "invalid_request", exc.message)
        yield sse_event(name, data)
        return
    events, done = stream.finish(chunk)
    _remember(store, plan, done)
    for name, data in events:
        yield sse_event(name, data)


@post("/responses", status_code=200)
async def create_response(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """OpenAI's Responses API over the core's chat (``stream`` defaults to false)."""
    req = decode_body(await request.body(), ResponsesRequest, "ResponsesRequest")
    store = store_of(request)
    earlier = (
        store.get(req.previous_response_id, previous=True).conversation if req.previous_response_id else None
    )
    plan = from_responses_request(req, earlier)
    start = out.pending(req, out.new_id("resp"), plan.tools, plan.store)
    chunks = services.inference.chat(plan.input)
    if plan.force_tool:
        chunks = forced_chunks(chunks)
    # The first chunk is awaited here so errors before any output keep their HTTP status.
    first = await anext(chunks)
    if plan.stream:
        return Stream(_events(store, plan, start, first, chunks), media_type=SSE, status_code=200)
    joined = join_chunks(await until_disconnect(request, gather(resume(first, chunks))))
    done = out.finished(start, out.output_items(joined), joined)
    _remember(store, plan, done)
    return json_response(done)


@get("/responses/{response_id:str}")
async def retrieve_response(request: Request[Any, Any, Any], response_id: FromPath[str]) -> Response[bytes]:
    """A stored response (404 when unknown or evicted)."""
    return json_response(store_of(request).get(response_id).response)


@delete("/responses/{response_id:str}", status_code=200)
async def delete_response(request: Request[Any, Any, Any], response_id: FromPath[str]) -> Response[bytes]:
    """Forget a stored response."""
    store_of(request).delete(response_id)
    return json_response({"id": response_id, "object": "response.deleted", "deleted": True})


HANDLERS: list[HTTPRouteHandler] = [create_response, retrieve_response, delete_response]
