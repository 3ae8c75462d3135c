"""Core chunks → Responses API objects: output items, the ``response`` object and stream events.

Pure functions and one state machine (:class:`EventStream`), no I/O.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from corral.api.responses.protocol import ResponseObject, ResponsesRequest, Usage
from corral.api.streaming import prompt_tokens
from corral.core.assemble.toolcalls import new_tool_call_id
from corral.core.inference import Chunk
from corral.core.templates import Message, ToolCall

__all__ = ["EventStream", "assistant_message", "finished", "new_id", "output_items", "pending"]

Event = tuple[str, dict[str, Any]]


def new_id(prefix: str) -> str:
    """A fresh id such as ``resp_3f9a...``."""
    return f"{prefix}_{secrets.token_hex(12)}"


def pending(req: ResponsesRequest, rid: str, tools: list[dict[str, Any]], store: bool) -> ResponseObject:
    """The ``response`` object as it starts (``in_progress``, no output), echoing the request."""
    reasoning = req.reasoning if isinstance(req.reasoning, dict) else {}
    text = req.text if isinstance(req.text, dict) and req.text.get("format") else {"format": {"type": "text"}}
    return ResponseObject(
        id=rid,
        created_at=int(time.time()),
        status="in_progress",
        instructions=req.instructions,
        max_output_tokens=req.max_output_tokens,
        model=req.model,
        parallel_tool_calls=req.parallel_tool_calls is not False,
        previous_response_id=req.previous_response_id,
        reasoning={"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        store=store,
        temperature=1.0 if req.temperature is None else req.temperature,
        text=text,
        tool_choice=req.tool_choice if req.tool_choice is not None else "auto",
        tools=tools,
        top_p=1.0 if req.top_p is None else req.top_p,
        user=req.user,
        metadata=req.metadata or {},
    )


def _usage(final: Chunk) -> Usage:
    m = final.metrics
    prompt, output = (prompt_tokens(m), m.eval_count) if m is not None else (0, 0)
    return Usage(input_tokens=prompt, output_tokens=output, total_tokens=prompt + output)


def finished(start: ResponseObject, output: list[dict[str, Any]], final: Chunk) -> ResponseObject:
    """The response once generation ended: ``incomplete`` when cut by ``max_output_tokens``."""
    cut = final.done_reason == "length" and not any(i["type"] == "function_call" for i in output)
    return msgspec.structs.replace(
        start,
        status="incomplete" if cut else "completed",
        completed_at=int(time.time()),
        incomplete_details={"reason": "max_output_tokens"} if cut else None,
        output=output,
        usage=_usage(final),
    )


def _reasoning(item_id: str, text: str) -> dict[str, Any]:
    return {"type": "reasoning", "id": item_id, "summary": [{"type": "summary_text", "text": text}]}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [_text_part(text)] if status == "completed" else []
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _function_call(call: ToolCall, item_id: str, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.id or new_tool_call_id(),
        "name": call.function.name,
        "arguments": msgspec.json.encode(call.function.arguments).decode() if status == "completed" else "",
        "status": status,
    }


def output_items(joined: Chunk) -> list[dict[str, Any]]:
    """A whole answer's output: reasoning (its summary is the thinking), the message, the calls."""
    items = []
    if joined.thinking:
        items.append(_reasoning(new_id("rs"), joined.thinking))
    if joined.content or not joined.tool_calls:
        items.append(_message(new_id("msg"), joined.content, "completed"))
    items.extend(_function_call(c, new_id("fc")) for c in joined.tool_calls)
    return items


def assistant_message(output: list[dict[str, Any]]) -> Message:
    """The answer as the assistant turn a later ``previous_response_id`` continues from."""
    msg = Message("assistant")
    for item in output:
        if item["type"] == "reasoning":
            msg.thinking += "".join(s["text"] for s in item["summary"])
        elif item["type"] == "message":
            msg.content += "".join(p["text"] for p in item["content"])
        elif item["type"] == "function_call":
            args = msgspec.json.decode(item["arguments"]) if item["arguments"] else {}
            fn = ToolCall.from_json(
                {"function": {"name": item["name"], "arguments": args}, "id": item["call_id"]}
            )
            fn.function.index = len(msg.tool_calls)
            msg.tool_calls.append(fn)
    return msg


@dataclass
class EventStream:
    """The streamed events of one response, built chunk by chunk; every event carries the next
    ``sequence_number``. Thinking streams as a reasoning item's summary, content as a message
    item's ``output_text``; each tool call is a ``function_call`` item sent whole."""

    start: ResponseObject
    output: list[dict[str, Any]] = field(default_factory=list)
    _seq: int = 0
    _open: dict[str, Any] | None = None
    _text: str = ""

    def _event(self, kind: str, /, **data: Any) -> Event:
        event = (kind, {"type": kind, "sequence_number": self._seq, **data})
        self._seq += 1
        return event

    def begin(self) -> list[Event]:
        """``response.created`` and ``response.in_progress``."""
        return [
            self._event("response.created", response=self.start),
            self._event("response.in_progress", response=self.start),
        ]

    def _add(self, item: dict[str, Any]) -> list[Event]:
        self.output.append(item)
        return [self._event("response.output_item.added", output_index=len(self.output) - 1, item=item)]

    def _where(self) -> dict[str, Any]:
        assert self._open is not None
        return {"item_id": self._open["id"], "output_index": len(self.output) - 1}

    def _open_item(self, kind: str) -> list[Event]:
        if self._open is not None and self._open["type"] == kind:
            return []
        out = self._close()
        if kind == "reasoning":
            self._open = {"type": "reasoning", "id": new_id("rs"), "summary": []}
            out += self._add(self._open)
            part = {"type": "summary_text", "text": ""}
            out.append(
                self._event(
                    "response.reasoning_summary_part.added", **self._where(), summary_index=0, part=part
                )
            )
        else:
            self._open = _message(new_id("msg"), "", "in_progress")
            out += self._add(self._open)
            out.append(
                self._event(
                    "response.content_part.added", **self._where(), content_index=0, part=_text_part("")
                )
            )
        return out

    def _close(self) -> list[Event]:
        item, text = self._open, self._text
        if item is None:
            return []
        where = self._where()
        self._open, self._text = None, ""
        if item["type"] == "reasoning":
            part = {"type": "summary_text", "text": text}
            item["summary"] = [part]
            return [
                self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text),
                self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part),
                self._event("response.output_item.done", output_index=where["output_index"], item=item),
            ]
        part = _text_part(text)
        item.update(status="completed", content=[part])
        return [
            self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[]),
            self._event("response.content_part.done", **where, content_index=0, part=part),
            self._event("response.output_item.done", output_index=where["output_index"], item=item),
        ]

    def push(self, chunk: Chunk) -> list[Event]:
        """The events for one chunk's thinking, content and tool calls."""
        out: list[Event] = []
        if chunk.thinking:
            out += self._open_item("reasoning")
            self._text += chunk.thinking
            out.append(
                self._event(
                    "response.reasoning_summary_text.delta",
                    **self._where(),
                    summary_index=0,
                    delta=chunk.thinking,
                )
            )
        if chunk.content:
            out += self._open_item("message")
            self._text += chunk.content
            out.append(
                self._event(
                    "response.output_text.delta",
                    **self._where(),
                    content_index=0,
                    delta=chunk.content,
                    logprobs=[],
                )
            )
        for call in chunk.tool_calls:
            out += self._close()
            done = _function_call(call, new_id("fc"))
            out += self._add({**done, "arguments": "", "status": "in_progress"})
            where = {"item_id": done["id"], "output_index": len(self.output) - 1}
            out.append(
                self._event("response.function_call_arguments.delta", **where, delta=done["arguments"])
            )
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    **where,
                    name=done["name"],
                    arguments=done["arguments"],
                )
            )
            self.output[-1] = done
            out.append(
                self._event("response.output_item.done", output_index=where["output_index"], item=done)
            )
        return out

    def finish(self, final: Chunk) -> tuple[list[Event], ResponseObject]:
        """Close the open item (an empty message when nothing was said) and end the response with
        ``response.completed`` (or ``response.incomplete``)."""
        out = [] if self.output else self._open_item("message")
        out += self._close()
        done = finished(self.start, self.output, final)
        name = "response.incomplete" if done.status == "incomplete" else "response.completed"
        out.append(self._event(name, response=done))
        return out, done

    def failed(self, code: str, message: str) -> Event:
        """``response.failed`` for an error after the stream began."""
        bad = msgspec.structs.replace(self.start, status="failed", error={"code": code, "message": message})
        return self._event("response.failed", response=bad)
