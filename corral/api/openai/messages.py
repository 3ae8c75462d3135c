"""OpenAI chat ``messages`` → core messages: content parts, data-URL images, tool calls and results.

Pure functions; errors are :class:`BadRequest` worded as Ollama words them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from corral.core.errors import BadRequest
from corral.core.templates import Message, ToolCall, ToolCallFunction

__all__ = ["chat_messages", "go_type", "image_bytes"]

_IMAGE_PREFIXES = (*(f"data:image/{t};base64," for t in ("jpeg", "jpg", "png", "webp")), "data:;base64,")


def go_type(value: Any) -> str:
    """Go's ``%T`` of a decoded JSON value, as Ollama's messages name it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def image_bytes(url: str) -> bytes:
    """A base64 ``data:`` URL's image bytes (HTTP URLs and other schemes are refused)."""
    if url.startswith(("http://", "https://")):
        raise BadRequest("image URLs are not currently supported, please use base64 encoded data instead")
    prefix = next((p for p in _IMAGE_PREFIXES if url.startswith(p)), None)
    if prefix is None:
        raise BadRequest("invalid image input")
    try:
        return base64.b64decode(url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("invalid image input") from None


def _part(role: str, part: Any) -> Message:
    """One content part → its own message with the same role (as Ollama splits them)."""
    if not isinstance(part, dict):
        raise BadRequest("invalid message format")
    kind = part.get("type")
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise BadRequest("invalid message format")
        return Message(role, content=part["text"])
    if kind == "image_url":
        ref = part.get("image_url")
        url = ref.get("url") if isinstance(ref, dict) else ref
        if not isinstance(url, str):
            raise BadRequest("invalid message format")
        return Message(role, images=[image_bytes(url)])
    if kind == "input_audio":
        audio = part.get("input_audio")
        data = audio.get("data") if isinstance(audio, dict) else None
        if not isinstance(data, str):
            raise BadRequest("invalid message format")
        try:
            return Message(role, images=[base64.b64decode(data, validate=True)])
        except (binascii.Error, ValueError):
            raise BadRequest("invalid audio input") from None
    raise BadRequest("invalid message format")


def _tool_calls(raw: Any) -> list[ToolCall]:
    if not raw:
        return []
    if not isinstance(raw, list):
        raise BadRequest("invalid message format")
    calls = []
    for i, item in enumerate(raw):
        fn = item.get("function") if isinstance(item, dict) else None
        if not isinstance(fn, dict):
            raise BadRequest("invalid message format")
        args: Any = fn.get("arguments")
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except ValueError:
                raise BadRequest("invalid tool call arguments") from None
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise BadRequest("invalid tool call arguments")
        call_id = item.get("id")
        calls.append(
            ToolCall(
                ToolCallFunction(str(fn.get("name") or ""), args, i),
                call_id if isinstance(call_id, str) else "",
            )
        )
    return calls


def _tool_name(raw: list[Any], call_id: str) -> str:
    for earlier in raw:
        calls = earlier.get("tool_calls") if isinstance(earlier, dict) else None
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict) and call.get("id") == call_id:
                fn = call.get("function")
                return str(fn.get("name") or "") if isinstance(fn, dict) else ""
    return ""


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def chat_messages(raw: Any) -> list[Message]:
    """OpenAI ``messages`` → core messages (array content is split into one message per part)."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("[] is too short - 'messages'")
    out: list[Message] = []
    for msg in raw:
        if not isinstance(msg, dict):
            raise BadRequest("invalid message format")
        role = str(msg.get("role") or "").lower()
        content = msg.get("content")
        calls = _tool_calls(msg.get("tool_calls"))
        reasoning = _text(msg, "reasoning")
        call_id = _text(msg, "tool_call_id")
        tool_name = ""
        if role == "tool":
            tool_name = _text(msg, "name") or (_tool_name(raw, call_id) if call_id else "")
        if isinstance(content, str):
            out.append(Message(role, content, reasoning, [], calls, tool_name, call_id))
        elif isinstance(content, list):
            parts = [_part(role, p) for p in content]
            if parts:
                parts[-1].tool_calls = calls
            out.extend(parts)
        elif calls:
            out.append(Message(role, "", reasoning, [], calls))
        else:
            raise BadRequest(f"invalid message content type: {go_type(content)}")
    return out
