"""Bridging core work onto HTTP: progress as NDJSON streams or single JSON replies, joined chunks,
and cancelling work whose client went away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
from litestar import Request, Response
from litestar.response import Stream

from corral.core.errors import CorralError, StorageError
from corral.core.inference import Chunk, Metrics
from corral.core.sources import Progress, ProgressCallback
from corral.core.transfers import TransferSlot

__all__ = [
    "NDJSON",
    "admitted",
    "collect_progress",
    "first_chunk",
    "gather",
    "join_chunks",
    "progress_dict",
    "progress_response",
    "prompt_tokens",
    "resume",
    "run_with_progress",
    "sse_event",
    "until_disconnect",
]

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"

_DONE = object()
T = TypeVar("T")


# Characters that JSON leaves raw inside strings but that line splitters treat as line ends
# (Python's str.splitlines, which httpx's aiter_lines and so ollama-python use): NEL, LINE SEPARATOR,
# PARAGRAPH SEPARATOR. A model that emits one would cut an NDJSON line in two for such a client.
_LINE_BREAKERS = ((b"\xc2\x85", b"\\u0085"), (b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def ndjson_line(value: Any) -> bytes:
    """``value`` as one NDJSON line that every line splitter keeps whole (the characters above escaped;
    they can only occur inside JSON strings, so the bytes mean the same)."""
    line = msgspec.json.encode(value)
    for raw, escaped in _LINE_BREAKERS:
        if raw in line:
            line = line.replace(raw, escaped)
    return line + b"\n"


def progress_dict(p: Progress) -> dict[str, Any]:
    """Ollama's status object: ``completed`` and other empty fields left out."""
    out: dict[str, Any] = {"status": p.status}
    if p.digest:
        out["digest"] = p.digest
    if p.total:
        out["total"] = p.total
    if p.completed:
        out["completed"] = p.completed
    return out


async def run_with_progress(
    work: Callable[[ProgressCallback], None],
) -> AsyncIterator[Progress | CorralError]:
    """Run ``work(progress)`` in a worker thread; yield each Progress it reports as it happens.

    A :class:`CorralError` raised by the work is yielded (not raised) as the last item so the
    caller can write it in the wire format it is using. Other exceptions propagate.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    def report(p: Progress) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, p)

    async def runner() -> None:
        try:
            await anyio.to_thread.run_sync(work, report)
        except OSError as exc:  # a full disk mid-pull/create: an error line, not a cut stream
            queue.put_nowait(StorageError(exc))
        except BaseException as exc:  # delivered to the consumer below
            queue.put_nowait(exc)
        finally:
            queue.put_nowait(_DONE)

    task = asyncio.create_task(runner())
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                break
            if isinstance(item, CorralError):
                yield item
            elif isinstance(item, BaseException):
                raise item
            else:
                assert isinstance(item, Progress)
                yield item
    finally:
        if not task.done():
            # The client went away: let the work finish in its thread; it writes atomically.
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)


def admitted(
    slot: TransferSlot, work: Callable[[ProgressCallback], None]
) -> Callable[[ProgressCallback], None]:
    """``work`` that gives its transfer place back when it ends (also after its client went away)."""

    def run(progress: ProgressCallback) -> None:
        try:
            work(progress)
        finally:
            slot.release()

    return run


async def progress_response(work: Callable[[ProgressCallback], None], stream: bool) -> Response[Any]:
    """Stream progress as NDJSON (the default), or with ``stream: false`` answer the last status only.

    Errors before the first line keep their status; errors after it become a final
    ``{"error": ...}`` line, as Ollama does.
    """
    if stream:
        return Stream(_ndjson_lines(work), media_type=NDJSON, status_code=200)
    return await collect_progress(work)


async def _ndjson_lines(work: Callable[[ProgressCallback], None]) -> AsyncIterator[bytes]:
    async for item in run_with_progress(work):
        if isinstance(item, CorralError):
            yield ndjson_line({"error": item.message})
            return
        yield ndjson_line(progress_dict(item))


async def collect_progress(work: Callable[[ProgressCallback], None]) -> Response[bytes]:
    """Run the work to the end and answer its last status object (``stream: false``)."""
    last: dict[str, Any] = {"status": "success"}
    async for item in run_with_progress(work):
        if isinstance(item, CorralError):
            raise item
        last = progress_dict(item)
    return Response(msgspec.json.encode(last), media_type="application/json", status_code=200)


def sse_event(name: str, data: Any) -> bytes:
    """One named server-sent event: ``event: <name>`` and ``data: <json>`` (Anthropic and the
    Responses API name every event; their SDKs dispatch on the data's ``type``)."""
    return b"event: " + name.encode() + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


async def gather(chunks: AsyncIterator[Chunk]) -> list[Chunk]:
    """Every chunk of a generation (``stream: false``)."""
    return [c async for c in chunks]


async def resume(first: Chunk, rest: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
    """A generation whose first chunk was already awaited (to keep errors' HTTP status), whole
    again: ``first``, then the rest unless ``first`` was the last."""
    yield first
    if not first.done:
        async for chunk in rest:
            yield chunk


def prompt_tokens(metrics: Metrics) -> int:
    """The whole prompt's token count, as the OpenAI and Anthropic dialects report it.

    Batching runners report prompt tokens served from the KV cache apart (``prompt_cached``); the
    dialects' input counts include them.
    """
    return metrics.prompt_eval_count + metrics.prompt_cached


def join_chunks(chunks: list[Chunk]) -> Chunk:
    """One generation's chunks joined (``stream: false``): contents, thinking, tool calls and
    logprobs concatenated; the last chunk's end (done reason, metrics, context, debug info)."""
    last = chunks[-1]
    return Chunk(
        content="".join(c.content for c in chunks),
        thinking="".join(c.thinking for c in chunks),
        tool_calls=[t for c in chunks for t in c.tool_calls],
        logprobs=[lp for c in chunks for lp in c.logprobs],
        done=True,
        done_reason=last.done_reason,
        metrics=last.metrics,
        context=last.context,
        debug_info=last.debug_info,
    )


async def first_chunk(request: Request[Any, Any, Any], chunks: AsyncIterator[T]) -> T:
    """The first item of ``chunks`` — the wait in the scheduler's queue, the load and the first token.

    A client that disconnects meanwhile cancels that wait, so it leaves the queue at once and its
    generation never starts (a Litestar handler is not cancelled on disconnect by itself).
    """

    async def pull() -> T:
        return await anext(chunks)

    return await until_disconnect(request, pull())


async def until_disconnect(request: Request[Any, Any, Any], work: Coroutine[Any, Any, T]) -> T:
    """Await ``work``; a client that disconnects meanwhile cancels it (and the generation)."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        return await task
    finally:
        watcher.cancel()
