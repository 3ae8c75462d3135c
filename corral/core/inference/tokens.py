"""Running a Runner's blocking token generator in a worker thread and consuming it asynchronously."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio

from corral.core.engine import GenerateParams, Runner, TokenOut

__all__ = ["stream_tokens"]

_END = object()


async def stream_tokens(
    runner: Runner, params: GenerateParams, cancel: threading.Event
) -> AsyncIterator[TokenOut]:
    """Yield the runner's tokens as they are produced.

    Leaving the iteration early (a stop string matched, the client went away) sets ``cancel`` and
    waits, shielded from cancellation, until the worker thread has let go of the runner, so the
    runner is never used by two generations at once.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    finished = anyio.Event()

    def put(item: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        try:
            for token in runner.generate(params, cancel):
                put(token)
                if cancel.is_set():
                    break
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            put(_END)
            loop.call_soon_threadsafe(finished.set)

    thread = threading.Thread(target=work, name="corral-generate", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancel.set()
        with anyio.CancelScope(shield=True):
            await finished.wait()
