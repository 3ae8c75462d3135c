"""Running one HTTP request through an ASGI app inside this process, as a stream of ASGI messages.

A model replica receives a forwarded request (a plain scope and the whole body) and answers with
the messages its own copy of corral's app sends, one by one, so NDJSON and SSE chunks reach the
client exactly as a single server writes them. When the caller stops listening (the client went
away), the app gets ``http.disconnect``, as under uvicorn, and the request leaves the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ASGIApp", "run_asgi"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[..., Awaitable[None]]
"""An ASGI application (Litestar's own signature is narrower than any one alias)."""

_DONE = object()


async def run_asgi(app: ASGIApp, scope: dict[str, Any], body: bytes) -> AsyncIterator[dict[str, Any]]:
    """Yield every message ``app`` sends for one request (``http.response.start``, then bodies)."""
    out: asyncio.Queue[Any] = asyncio.Queue()
    gone = asyncio.Event()
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await out.put(dict(message))

    async def call() -> None:
        try:
            await app(dict(scope), receive, send)
        finally:
            await out.put(_DONE)

    task = asyncio.create_task(call())
    try:
        while True:
            message = await out.get()
            if message is _DONE:
                break
            yield message
        await task  # an exception the app did not turn into a response surfaces here
    finally:
        gone.set()
        if not task.done():
            # Give the app a moment to notice the disconnect and release its slot, then stop it.
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), 5.0)
            task.cancel()
