"""Core chunks → Anthropic Messages objects: the whole ``message`` and the streamed events.

Pure functions and one small state machine (:class:`EventStream`), no I/O.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import msgspec

from corral.api.anthropic.protocol import MessageResponse, Usage
from corral.api.streaming import prompt_tokens
from corral.core.inference import Chunk
from corral.core.templates import ToolCall

__all__ = ["End", "EventStream", "content_blocks", "message", "new_message_id", "stop_reason", "tool_use"]

Event = tuple[str, dict[str, Any]]
"""An SSE event: its name and its data object (whose ``type`` repeats the name)."""


def new_message_id() -> str:
    """A fresh ``msg_...`` id."""
    return "msg_" + secrets.token_hex(12)


@dataclass
class End:
    """How a generation ended, in Anthropic's terms."""

    stop_reason: str
    stop_sequence: str | None = None


def stop_reason(chunk: Chunk, has_tool_calls: bool, stop_sequence: str | None = None) -> End:
    """``tool_use`` when the answer made calls, ``stop_sequence`` when one of the request's
    sequences matched, ``max_tokens`` when cut short, else ``end_turn``."""
    if has_tool_calls:
        return End("tool_use")
    if stop_sequence is not None:
        return End("stop_sequence", stop_sequence)
    return End("max_tokens" if chunk.done_reason == "length" else "end_turn")


def tool_use(call: ToolCall) -> dict[str, Any]:
    """A ``tool_use`` content block (ids keep the core's when it has one)."""
    return {
        "type": "tool_use",
        "id": call.id or "toolu_" + secrets.token_hex(12),
        "name": call.function.name,
        "input": call.function.arguments,
    }


def content_blocks(joined: Chunk) -> list[dict[str, Any]]:
    """Thinking, then text, then tool calls; an empty text block only when there is nothing else."""
    blocks: list[dict[str, Any]] = []
    if joined.thinking:
        blocks.append({"type": "thinking", "thinking": joined.thinking, "signature": ""})
    if joined.content or not (joined.tool_calls or joined.thinking):
        blocks.append({"type": "text", "text": joined.content})
    blocks.extend(tool_use(c) for c in joined.tool_calls)
    return blocks


def _usage(chunk: Chunk, counted: int) -> tuple[int, int]:
    if chunk.metrics is not None:
        return prompt_tokens(chunk.metrics), chunk.metrics.eval_count
    return 0, counted


def message(
    msg_id: str, model: str, joined: Chunk, end: End, input_tokens: int | None = None
) -> MessageResponse:
    """A whole ``message`` object; ``input_tokens`` overrides the chunk's metrics (a generation the
    adapter cut at a stop sequence has none)."""
    prompt, output = _usage(joined, 0)
    return MessageResponse(
        id=msg_id,
        role="assistant",
        model=model,
        content=content_blocks(joined),
        stop_reason=end.stop_reason,
        stop_sequence=end.stop_sequence,
        usage=Usage(input_tokens=prompt if input_tokens is None else input_tokens, output_tokens=output),
    )


@dataclass
class EventStream:
    """The Messages streaming events for one generation, built chunk by chunk.

    ``message_start`` first; each run of thinking or text is a content block (start, deltas,
    stop); each tool call is a ``tool_use`` block sent whole (its input as one
    ``input_json_delta``); then ``message_delta`` with the stop reason and usage, and ``message_stop``.
    """

    msg_id: str
    model: str
    _open: str | None = None
    _index: int = -1
    _calls: int = 0
    _pieces: int = 0
    _sent_any: bool = False

    def start(self) -> list[Event]:
        """``message_start`` (usage is final only in ``message_delta``)."""
        start = MessageResponse(
            id=self.msg_id,
            role="assistant",
            model=self.model,
            content=[],
            stop_reason=None,
            stop_sequence=None,
            usage=Usage(input_tokens=0, output_tokens=0),
        )
        return [("message_start", {"type": "message_start", "message": start})]

    def _begin(self, kind: str, block: dict[str, Any]) -> list[Event]:
        out = self._close()
        self._index += 1
        self._open = kind
        self._sent_any = True
        out.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": self._index, "content_block": block},
            )
        )
        return out

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self._index})]

    def _delta(self, delta: dict[str, Any]) -> Event:
        return ("content_block_delta", {"type": "content_block_delta", "index": self._index, "delta": delta})

    def push(self, chunk: Chunk) -> list[Event]:
        """The events for one (non-final or final) chunk's content."""
        out: list[Event] = []
        if chunk.thinking:
            if self._open != "thinking":
                out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out.append(self._delta({"type": "thinking_delta", "thinking": chunk.thinking}))
        if chunk.content:
            if self._open != "text":
                out += self._begin("text", {"type": "text", "text": ""})
            out.append(self._delta({"type": "text_delta", "text": chunk.content}))
        for call in chunk.tool_calls:
            block = tool_use(call)
            args = block.pop("input")
            out += self._begin("tool_use", {**block, "input": {}})
            out.append(self._delta({"type": "input_json_delta", "partial_json": _json(args)}))
            out += self._close()
            self._calls += 1
        if chunk.content or chunk.thinking:
            self._pieces += 1
        return out

    def finish(self, final: Chunk, end: End, input_tokens: int | None = None) -> list[Event]:
        """Close the open block (an empty text block when nothing was sent), then the message."""
        out = [] if self._sent_any else self._begin("text", {"type": "text", "text": ""})
        out += self._close()
        prompt, output = _usage(final, self._pieces)
        usage = {"input_tokens": prompt if input_tokens is None else input_tokens, "output_tokens": output}
        out.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": end.stop_reason, "stop_sequence": end.stop_sequence},
                    "usage": usage,
                },
            )
        )
        out.append(("message_stop", {"type": "message_stop"}))
        return out

    @property
    def made_calls(self) -> bool:
        """Whether a tool_use block was sent."""
        return self._calls > 0


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
