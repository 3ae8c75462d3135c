"""Translating Responses API requests into a core chat: input items, instructions, tools,
``tool_choice``, ``text.format`` and ``reasoning``.

Pure functions, no I/O. The conversation of a ``previous_response_id`` is passed in by the caller
(see :mod:`corral.api.responses.store`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from corral.api.forcing import choose_tools
from corral.api.openai.from_openai import think_from_effort
from corral.api.openai.messages import image_bytes
from corral.api.responses.protocol import ResponsesRequest
from corral.core.errors import BadRequest
from corral.core.inference import ChatInput
from corral.core.templates import Message, Tool, ToolCall, ToolCallFunction

__all__ = ["ResponsesPlan", "from_responses_request", "input_messages"]

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = ("input_text", "output_text", "text", "refusal")


@dataclass
class ResponsesPlan:
    """A Responses request as core work."""

    model: str
    input: ChatInput
    conversation: list[Message]
    """The messages this response continues from (previous turns and this input, no instructions)."""
    stream: bool
    store: bool
    force_tool: bool
    tools: list[dict[str, Any]]
    """The request's function tools, echoed in the response object."""


def _content(content: Any, where: str) -> tuple[str, list[bytes]]:
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise BadRequest(f"invalid type for '{where}.content': expected a string or a list of parts")
    texts, images = [], []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS:
            text = part.get("text", part.get("refusal"))
            if not isinstance(text, str):
                raise BadRequest(f"missing '{where}.content[{i}].text'")
            texts.append(text)
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str):
                raise BadRequest(f"'{where}.content[{i}]': only image_url data URLs are supported")
            images.append(image_bytes(url))
        else:
            raise BadRequest(f"unsupported content part type {kind!r} in '{where}.content[{i}]'")
    return "".join(texts), images


def _arguments(raw: Any, where: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        args = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        raise BadRequest(f"invalid JSON in '{where}.arguments'") from None
    if not isinstance(args, dict):
        raise BadRequest(f"'{where}.arguments' must be a JSON object")
    return args


def input_messages(raw: Any, earlier: list[Message] | None = None) -> list[Message]:
    """``input`` (a string or a list of items) → core messages, continuing ``earlier``.

    Function calls join the assistant message before them; a reasoning item's summary becomes
    the thinking of the assistant message that follows it.
    """
    if isinstance(raw, str):
        return [Message("user", raw)]
    if not isinstance(raw, list) or not raw:
        raise BadRequest("'input' must be a string or a non-empty list of items")
    out: list[Message] = []
    names = {c.id: c.function.name for m in earlier or [] for c in m.tool_calls}
    thinking = ""
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"'{where}' must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            role = _ROLES.get(str(item.get("role")))
            if role is None:
                raise BadRequest(f"invalid role {item.get('role')!r} in '{where}'")
            text, images = _content(item.get("content"), where)
            out.append(Message(role, text, thinking if role == "assistant" else "", images))
            thinking = ""
        elif kind == "function_call":
            call_id, name = str(item.get("call_id") or ""), str(item.get("name") or "")
            names[call_id] = name
            if not out or out[-1].role != "assistant" or thinking:
                out.append(Message("assistant", "", thinking))
                thinking = ""
            fn = ToolCallFunction(name, _arguments(item.get("arguments"), where), len(out[-1].tool_calls))
            out[-1].tool_calls.append(ToolCall(fn, call_id))
        elif kind == "function_call_output":
            call_id = str(item.get("call_id") or "")
            output = item.get("output")
            text, images = _content(output, where) if not isinstance(output, str) else (output, [])
            out.append(
                Message("tool", text, "", images, tool_name=names.get(call_id, ""), tool_call_id=call_id)
            )
        elif kind == "reasoning":
            summary = item.get("summary") or []
            thinking += "".join(s.get("text", "") for s in summary if isinstance(s, dict))
        else:
            raise BadRequest(f"unsupported input item type {kind!r} in '{where}'")
    return out


def _tools(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("'tools' must be a list")
    out = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise BadRequest(
                f"unsupported tool type {kind!r} in 'tools[{i}]': only function tools run locally"
            )
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise BadRequest(f"missing 'tools[{i}].name'")
        out.append(tool)
    return out


def _chat_tool(tool: dict[str, Any]) -> dict[str, Any]:
    params = tool.get("parameters")
    fn = {"name": tool["name"], "description": str(tool.get("description") or "")}
    return {"type": "function", "function": {**fn, "parameters": params if isinstance(params, dict) else {}}}


def _tool_choice(choice: Any, tools: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    """(chat tools offered, JSON schema forcing one call or None)."""
    if choice is None or choice in ("auto", "none", "required"):
        return choose_tools(choice or "auto", None, tools)
    name = choice.get("name") if isinstance(choice, dict) and choice.get("type") == "function" else None
    if not isinstance(name, str):
        raise BadRequest(
            'invalid tool_choice: expected "none", "auto", "required" or {"type": "function", "name": ...}'
        )
    return choose_tools("named", name, tools)


def _format(text: Any) -> Any:
    """``text.format`` → the core's ``format``."""
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        schema = fmt.get("schema")
        if not isinstance(schema, dict):
            raise BadRequest("text.format.schema must be a JSON schema object")
        return schema
    raise BadRequest(f"invalid text.format type {kind!r}: expected 'text', 'json_object' or 'json_schema'")


def from_responses_request(req: ResponsesRequest, earlier: list[Message] | None = None) -> ResponsesPlan:
    """Translate ``/v1/responses``; ``earlier`` is the stored conversation of ``previous_response_id``."""
    if not req.model:
        raise BadRequest("model is required")
    if req.background:
        raise BadRequest("background responses are not supported")
    if req.conversation is not None:
        raise BadRequest("'conversation' is not supported: use previous_response_id")
    if req.max_output_tokens is not None and req.max_output_tokens < 1:
        raise BadRequest("max_output_tokens must be at least 1")
    conversation = [*(earlier or []), *input_messages(req.input, earlier)]
    tools = _tools(req.tools)
    offered, forced = _tool_choice(req.tool_choice, [_chat_tool(t) for t in tools])
    try:
        core_tools = [Tool.from_json(t) for t in offered]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadRequest(f"invalid tool: {exc}") from None
    effort = req.reasoning.get("effort") if isinstance(req.reasoning, dict) else None
    # OpenAI's defaults (1.0), not the model's, as the chat completions adapter and Ollama do.
    options: dict[str, Any] = {
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "top_p": 1.0 if req.top_p is None else req.top_p,
    }
    if req.max_output_tokens is not None:
        options["num_predict"] = req.max_output_tokens
    system = [Message("system", req.instructions)] if req.instructions else []
    inp = ChatInput(
        model=req.model,
        messages=[*system, *conversation],
        tools=core_tools,
        format=forced if forced is not None else _format(req.text),
        options=options,
        think=think_from_effort(effort),
    )
    return ResponsesPlan(
        req.model, inp, conversation, req.stream, req.store is not False, forced is not None, tools
    )
