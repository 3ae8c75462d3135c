"""Core chunks → OpenAI response objects: completions, stream chunks, usage, logprobs, tool calls.

Pure functions, no I/O. A "choice" here is a :class:`Chunk` joined from one generation
(:func:`corral.api.streaming.join_chunks`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import msgspec

from corral.api.forcing import forced_call
from corral.core.assemble.toolcalls import new_tool_call_id
from corral.core.engine import TokenLogprob
from corral.core.inference import Chunk, LogprobEntry
from corral.core.templates import ToolCall

__all__ = [
    "FINGERPRINT",
    "Envelope",
    "chat_chunk",
    "chat_completion",
    "completion",
    "completion_chunk",
    "completion_logprobs",
    "completion_usage_chunk",
    "finish_reason",
    "forced_call",
    "logprobs_content",
    "usage",
    "usage_chunk",
]

FINGERPRINT = "fp_ollama"
"""Ollama's fixed ``system_fingerprint``; clients only echo it."""


@dataclass
class Envelope:
    """What every object of one response shares: id, creation time and the model as requested."""

    id: str
    created: int
    model: str

    @classmethod
    def new(cls, prefix: str, model: str) -> Envelope:
        """A fresh id such as ``chatcmpl-3f9a...`` and the current time."""
        return cls(f"{prefix}-{secrets.token_hex(12)}", int(time.time()), model)


def finish_reason(chunk: Chunk, has_tool_calls: bool) -> str:
    """``tool_calls`` when the answer made calls (each parsed call is whole), ``length`` when cut
    short, else ``stop``."""
    if has_tool_calls:
        return "tool_calls"
    return "length" if chunk.done_reason == "length" else "stop"


def usage(chunks: list[Chunk], prompts: int = 1) -> dict[str, Any]:
    """Token counts over the final chunks of every choice, ordered prompt by prompt: each of the
    ``prompts`` distinct prompts is counted once, however many choices it has."""
    per_prompt = max(1, len(chunks) // max(1, prompts))
    firsts = [c.metrics for c in chunks[::per_prompt] if c.metrics]
    # OpenAI's prompt_tokens is the whole prompt; the part served from the KV cache is a detail.
    cached = sum(m.prompt_cached for m in firsts)
    prompt = sum(m.prompt_eval_count for m in firsts) + cached
    completion_tokens = sum(c.metrics.eval_count for c in chunks if c.metrics)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def _tool_call(call: ToolCall, index: int) -> dict[str, Any]:
    return {
        "id": call.id or new_tool_call_id(),
        "index": index,
        "type": "function",
        "function": {
            "name": call.function.name,
            "arguments": msgspec.json.encode(call.function.arguments).decode(),
        },
    }


def logprobs_content(entries: list[LogprobEntry]) -> dict[str, Any]:
    """Chat ``logprobs``: ``{"content": [{token, logprob, bytes, top_logprobs}]}``."""

    def one(t: TokenLogprob) -> dict[str, Any]:
        return {"token": t.token, "logprob": t.logprob, "bytes": list(t.bytes)}

    return {"content": [{**one(e.chosen), "top_logprobs": [one(t) for t in e.top]} for e in entries]}


def _message(choice: Chunk) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.content}
    if choice.thinking:
        message["reasoning"] = choice.thinking
    if choice.tool_calls:
        message["tool_calls"] = [_tool_call(c, i) for i, c in enumerate(choice.tool_calls)]
    return message


def chat_completion(env: Envelope, choices: list[Chunk], logprobs: bool) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    out_choices = []
    for i, choice in enumerate(choices):
        item: dict[str, Any] = {
            "index": i,
            "message": _message(choice),
            "finish_reason": finish_reason(choice, bool(choice.tool_calls)),
        }
        if logprobs or choice.logprobs:
            item["logprobs"] = logprobs_content(choice.logprobs)
        out_choices.append(item)
    return {
        "id": env.id,
        "object": "chat.completion",
        "created": env.created,
        "model": env.model,
        "system_fingerprint": FINGERPRINT,
        "choices": out_choices,
        "usage": usage(choices),
    }


def _chunk_envelope(env: Envelope, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": env.id,
        "object": "chat.completion.chunk",
        "created": env.created,
        "model": env.model,
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
    }


def chat_chunk(
    env: Envelope, index: int, chunk: Chunk, *, first: bool, calls_before: int
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects for one core chunk of choice ``index``.

    Reasoning goes in a chunk of its own; ``role`` only in the choice's first delta; the finish
    reason in a separate final chunk with an empty delta. ``calls_before`` numbers tool calls.
    """
    out: list[dict[str, Any]] = []

    def delta(d: dict[str, Any], logprobs: list[LogprobEntry] | None = None) -> None:
        if first and not out:
            d = {"role": "assistant", **d}
        choice: dict[str, Any] = {"index": index, "delta": d, "finish_reason": None}
        if logprobs:
            choice["logprobs"] = logprobs_content(logprobs)
        out.append(_chunk_envelope(env, [choice]))

    if chunk.thinking:
        delta({"reasoning": chunk.thinking})
    if chunk.content or chunk.tool_calls or chunk.logprobs or (first and not out):
        d: dict[str, Any] = {"content": chunk.content}
        if chunk.tool_calls:
            d["tool_calls"] = [_tool_call(c, calls_before + i) for i, c in enumerate(chunk.tool_calls)]
        delta(d, chunk.logprobs)
    if chunk.done:
        reason = finish_reason(chunk, calls_before + len(chunk.tool_calls) > 0)
        out.append(_chunk_envelope(env, [{"index": index, "delta": {}, "finish_reason": reason}]))
    return out


def usage_chunk(env: Envelope, finals: list[Chunk]) -> dict[str, Any]:
    """The chunk ``stream_options.include_usage`` adds at the end: no choices, the usage."""
    return {**_chunk_envelope(env, []), "usage": usage(finals)}


# --- text completions -------------------------------------------------------------------------


def completion_logprobs(entries: list[LogprobEntry], offset: int) -> dict[str, Any]:
    """The legacy ``logprobs`` object: tokens, token_logprobs, top_logprobs, text_offset."""
    offsets = []
    for e in entries:
        offsets.append(offset)
        offset += len(e.chosen.token)
    return {
        "tokens": [e.chosen.token for e in entries],
        "token_logprobs": [e.chosen.logprob for e in entries],
        "top_logprobs": [{t.token: t.logprob for t in e.top} for e in entries],
        "text_offset": offsets,
    }


def _completion_choice(
    index: int, text: str, chunk: Chunk, logprobs: dict[str, Any] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {"text": text, "index": index}
    if logprobs is not None:  # left out unless asked for, as Ollama does
        out["logprobs"] = logprobs
    out["finish_reason"] = finish_reason(chunk, False) if chunk.done else None
    return out


def completion(
    env: Envelope, choices: list[Chunk], echo: list[str], logprobs: bool, prompts: int
) -> dict[str, Any]:
    """A whole ``text_completion`` object."""
    return {
        "id": env.id,
        "object": "text_completion",
        "created": env.created,
        "model": env.model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            _completion_choice(
                i,
                echo[i] + c.content,
                c,
                completion_logprobs(c.logprobs, len(echo[i])) if logprobs else None,
            )
            for i, c in enumerate(choices)
        ],
        "usage": usage(choices, prompts),
    }


def completion_chunk(
    env: Envelope, index: int, text: str, chunk: Chunk, logprobs: dict[str, Any] | None, zero_usage: bool
) -> dict[str, Any]:
    """One streamed ``text_completion`` object; the last of a choice carries its finish reason.

    With ``include_usage`` every chunk carries a zeroed usage, as Ollama sends it.
    """
    out: dict[str, Any] = {
        "id": env.id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": env.model,
        "system_fingerprint": FINGERPRINT,
        "choices": [_completion_choice(index, text, chunk, logprobs)],
    }
    if zero_usage:
        out["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return out


def completion_usage_chunk(env: Envelope, finals: list[Chunk], prompts: int) -> dict[str, Any]:
    """The final ``text_completion`` chunk with ``choices: []`` and the real usage."""
    return {
        "id": env.id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": env.model,
        "system_fingerprint": FINGERPRINT,
        "choices": [],
        "usage": usage(finals, prompts),
    }
