"""Handlers of /v1/chat/completions and /v1/completions: run each choice through the core, answer
one JSON object or an SSE stream ending in ``data: [DONE]``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream

from corral.api.decode import decode_body
from corral.api.errors import json_response, openai_error_body
from corral.api.openai import to_openai as out
from corral.api.openai.from_openai import (
    ChatPlan,
    CompletionPlan,
    from_chat_request,
    from_completion_request,
)
from corral.api.openai.protocol import ChatCompletionRequest, CompletionRequest
from corral.api.streaming import join_chunks, until_disconnect
from corral.core.errors import CorralError
from corral.core.inference import Chunk
from corral.core.services import Services

__all__ = ["HANDLERS"]

Svc = NamedDependency[Services]
I = TypeVar("I")  # noqa: E741
Choices = AsyncIterator[tuple[int, Chunk]]
SSE = "text/event-stream"


async def _start(run: Callable[[I], AsyncIterator[Chunk]], inputs: list[I]) -> tuple[Chunk, Choices]:
    """Run the generations of every choice (choice i is ``inputs[i]``) side by side.

    The first chunk of choice 0 is awaited here so that errors raised before any output (unknown
    model, bad options...) keep their HTTP status instead of arriving inside a 200 stream. The
    other choices start once it is there: by then choice 0's prompt is in the runner's KV cache,
    so a batching runner copies it instead of evaluating it again, and all choices decode in
    parallel (a one-sequence runner serves them in turn). Chunks of different choices interleave.
    """
    chunks = run(inputs[0])
    first = await anext(chunks)

    async def choices() -> Choices:
        yield 0, first
        if first.done and len(inputs) == 1:
            return
        queue: asyncio.Queue[tuple[int, Chunk] | BaseException | None] = asyncio.Queue()

        async def pump(i: int, source: AsyncIterator[Chunk]) -> None:
            try:
                async for chunk in source:
                    await queue.put((i, chunk))
            except Exception as exc:  # handed to the consumer, which re-raises it
                await queue.put(exc)
            finally:
                await queue.put(None)

        tasks = []
        if not first.done:
            tasks.append(asyncio.create_task(pump(0, chunks)))
        tasks += [asyncio.create_task(pump(i, run(inp))) for i, inp in enumerate(inputs[1:], start=1)]
        try:
            remaining = len(tasks)
            while remaining:
                item = await queue.get()
                if item is None:
                    remaining -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    return first, choices()


async def _forced(choices: Choices) -> Choices:
    """Tool-call forcing: hold each choice's output and hand it over joined, parsed as a call."""
    held: dict[int, list[Chunk]] = {}
    async for i, chunk in choices:
        held.setdefault(i, []).append(chunk)
        if chunk.done:
            yield i, out.forced_call(join_chunks(held.pop(i)))


async def _joined(choices: Choices, count: int) -> list[Chunk]:
    held: list[list[Chunk]] = [[] for _ in range(count)]
    async for i, chunk in choices:
        held[i].append(chunk)
    return [join_chunks(h) for h in held]


async def _sse(objects: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """``data: <json>`` frames, then ``data: [DONE]``. An error after the stream began is sent as
    an OpenAI error object (the SDKs raise it) and ends the stream."""
    try:
        async for obj in objects:
            yield b"data: " + msgspec.json.encode(obj) + b"\n\n"
    except CorralError as exc:
        yield b"data: " + openai_error_body(exc.message, exc.status) + b"\n\n"
        return
    yield b"data: [DONE]\n\n"


def _debug_reply(env: out.Envelope, obj: str, info: dict[str, Any]) -> Response[bytes]:
    return json_response(
        {"id": env.id, "object": obj, "created": env.created, "model": env.model, "_debug_info": info}
    )


# --- chat -------------------------------------------------------------------------------------


async def _chat_stream(env: out.Envelope, plan: ChatPlan, choices: Choices) -> AsyncIterator[dict[str, Any]]:
    started: set[int] = set()
    calls: dict[int, int] = {}
    finals: dict[int, Chunk] = {}
    async for i, chunk in choices:
        for obj in out.chat_chunk(env, i, chunk, first=i not in started, calls_before=calls.get(i, 0)):
            yield obj
        started.add(i)
        calls[i] = calls.get(i, 0) + len(chunk.tool_calls)
        if chunk.done:
            finals[i] = chunk
    if plan.include_usage:
        yield out.usage_chunk(env, [finals[i] for i in sorted(finals)])


@post("/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """OpenAI chat completions over the core's chat (``stream`` defaults to false)."""
    req = decode_body(await request.body(), ChatCompletionRequest, "ChatCompletionRequest")
    plan = from_chat_request(req)
    env = out.Envelope.new("chatcmpl", plan.model)
    first, choices = await _start(services.inference.chat, plan.inputs)
    if first.debug_info is not None:
        return _debug_reply(env, "chat.completion", first.debug_info)
    if plan.force_tool:
        choices = _forced(choices)
    if plan.stream:
        return Stream(_sse(_chat_stream(env, plan, choices)), media_type=SSE, status_code=200)
    joined = await until_disconnect(request, _joined(choices, len(plan.inputs)))
    logprobs = any(inp.logprobs for inp in plan.inputs)
    return json_response(out.chat_completion(env, joined, logprobs))


# --- completions ------------------------------------------------------------------------------


async def _completion_stream(
    env: out.Envelope, plan: CompletionPlan, choices: Choices
) -> AsyncIterator[dict[str, Any]]:
    offsets: dict[int, int] = {}
    finals: dict[int, Chunk] = {}
    async for i, chunk in choices:
        text = chunk.content if i in offsets else plan.echo[i] + chunk.content
        start = offsets.get(i, len(plan.echo[i]))
        offsets[i] = start + len(chunk.content)
        lp = out.completion_logprobs(chunk.logprobs, start) if plan.logprobs is not None else None
        yield out.completion_chunk(env, i, text, chunk, lp, plan.include_usage)
        if chunk.done:
            finals[i] = chunk
    if plan.include_usage:
        yield out.completion_usage_chunk(env, [finals[i] for i in sorted(finals)], plan.prompts)


@post("/completions", status_code=200)
async def completions(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """OpenAI (legacy) text completions over the core's generate."""
    req = decode_body(await request.body(), CompletionRequest, "CompletionRequest")
    plan = from_completion_request(req)
    env = out.Envelope.new("cmpl", plan.model)
    _, choices = await _start(services.inference.generate, plan.inputs)
    if plan.stream:
        return Stream(_sse(_completion_stream(env, plan, choices)), media_type=SSE, status_code=200)
    joined = await until_disconnect(request, _joined(choices, len(plan.inputs)))
    return json_response(out.completion(env, joined, plan.echo, plan.logprobs is not None, plan.prompts))


HANDLERS: list[Any] = [chat_completions, completions]
