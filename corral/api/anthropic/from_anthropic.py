"""Translating Anthropic Messages requests into a core chat: system, content blocks, tools,
``tool_choice``, ``thinking`` and sampling options.

Pure functions, no I/O. Errors are :class:`BadRequest` naming the field the way Anthropic's
validation does (``messages.0.role: ...``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from corral.api.anthropic.protocol import CountTokensRequest, MessagesRequest
from corral.api.forcing import choose_tools
from corral.core.errors import BadRequest
from corral.core.inference import ChatInput
from corral.core.templates import Message, Tool, ToolCall, ToolCallFunction

__all__ = ["MessagesPlan", "from_count_tokens_request", "from_messages_request", "openai_tools"]

_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


@dataclass
class MessagesPlan:
    """A Messages request as core work."""

    model: str
    input: ChatInput
    stream: bool
    stops: list[str] = field(default_factory=list)
    """``stop_sequences``, matched by the adapter so the response can name the one that stopped it."""
    force_tool: bool = False
    """Output is constrained to one tool call (``tool_choice`` ``any`` or ``tool``)."""


def _system(value: Any) -> list[Message]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [Message("system", value)]
    if isinstance(value, list):
        texts = []
        for i, block in enumerate(value):
            if (
                not isinstance(block, dict)
                or block.get("type") != "text"
                or not isinstance(block.get("text"), str)
            ):
                raise BadRequest(f"system.{i}: expected a text block")
            texts.append(block["text"])
        return [Message("system", "\n".join(texts))]
    raise BadRequest("system: Input should be a valid string or a list of text blocks")


def _image(block: dict[str, Any], where: str) -> bytes:
    source = block.get("source")
    if not isinstance(source, dict):
        raise BadRequest(f"{where}.source: Field required")
    if source.get("type") == "url":
        raise BadRequest(f"{where}.source: image URLs are not supported, send base64 data")
    if source.get("type") != "base64" or not isinstance(source.get("data"), str):
        raise BadRequest(f"{where}.source: expected a base64 source")
    if source.get("media_type") not in _IMAGE_TYPES:
        raise BadRequest(f"{where}.source.media_type: Input should be one of {', '.join(_IMAGE_TYPES)}")
    try:
        return base64.b64decode(source["data"], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}.source.data: invalid base64 data") from None


def _result_text(content: Any, where: str) -> tuple[str, list[bytes]]:
    """A ``tool_result``'s content: a string, or text and image blocks."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content: Input should be a valid string or list")
    texts, images = [], []
    for i, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "image":
            images.append(_image(block, f"{where}.content.{i}"))
        else:
            raise BadRequest(f"{where}.content.{i}: expected a text or image block")
    return "\n".join(texts), images


def _tool_name(calls: dict[str, str], call_id: str) -> str:
    return calls.get(call_id, "")


def _blocks(role: str, content: list[Any], where: str, calls: dict[str, str]) -> list[Message]:
    """One message's content blocks → core messages: tool results first (as ``tool`` messages),
    then one message with the text, images, thinking and tool calls."""
    results: list[Message] = []
    main = Message(role)
    texts: list[str] = []
    for i, block in enumerate(content):
        at = f"{where}.content.{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            if not isinstance(block.get("text"), str):
                raise BadRequest(f"{at}.text: Field required")
            texts.append(block["text"])
        elif kind == "image":
            main.images.append(_image(block, at))
        elif kind == "thinking":
            main.thinking += str(block.get("thinking") or "")
        elif kind == "redacted_thinking":
            continue  # encrypted by Anthropic: nothing a local model can read
        elif kind == "tool_use":
            if role != "assistant":
                raise BadRequest(f"{at}: tool_use blocks belong to assistant messages")
            args = block.get("input")
            if not isinstance(args, dict):
                raise BadRequest(f"{at}.input: Input should be a valid dictionary")
            call_id, name = str(block.get("id") or ""), str(block.get("name") or "")
            calls[call_id] = name
            main.tool_calls.append(ToolCall(ToolCallFunction(name, args, len(main.tool_calls)), call_id))
        elif kind == "tool_result":
            if role != "user":
                raise BadRequest(f"{at}: tool_result blocks belong to user messages")
            call_id = str(block.get("tool_use_id") or "")
            text, images = _result_text(block.get("content"), at)
            if block.get("is_error"):
                text = f"Error: {text}"
            results.append(
                Message(
                    "tool", text, images=images, tool_name=_tool_name(calls, call_id), tool_call_id=call_id
                )
            )
        else:
            raise BadRequest(f"{at}: unsupported content block type {kind!r}")
    main.content = "".join(texts)
    keep = main.content or main.images or main.thinking or main.tool_calls or not results
    return [*results, main] if keep else results


def _messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list):
        raise BadRequest("messages: Input should be a valid list")
    if not raw:
        raise BadRequest("messages: at least one message is required")
    out: list[Message] = []
    calls: dict[str, str] = {}
    for i, msg in enumerate(raw):
        where = f"messages.{i}"
        if not isinstance(msg, dict):
            raise BadRequest(f"{where}: Input should be a valid dictionary")
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise BadRequest(f"{where}.role: Input should be 'user' or 'assistant'")
        content = msg.get("content")
        if isinstance(content, str):
            out.append(Message(role, content))
        elif isinstance(content, list):
            out.extend(_blocks(role, content, where, calls))
        else:
            raise BadRequest(f"{where}.content: Input should be a valid string or list of content blocks")
    return out


def openai_tools(raw: Any) -> list[dict[str, Any]]:
    """Anthropic tool definitions → OpenAI-shaped function tools (what the core's Tool reads).

    Server tools (``web_search_...``, ``bash_...``, ``text_editor_...``) run on Anthropic's side
    and are refused.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("tools: Input should be a valid list")
    out = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise BadRequest(f"tools.{i}: Input should be a valid dictionary")
        kind = tool.get("type")
        if kind not in (None, "custom"):
            raise BadRequest(f"tools.{i}: server tool type {kind!r} is not supported")
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest(f"tools.{i}.name: Field required")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise BadRequest(f"tools.{i}.input_schema: Field required")
        out.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": str(tool.get("description") or ""),
                    "parameters": schema,
                },
            }
        )
    return out


_CHOICES = {"auto": "auto", "none": "none", "any": "required", "tool": "named"}


def _tool_choice(choice: Any, tools: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    """(tools offered, JSON schema forcing one call or None)."""
    if choice is None:
        return tools, None
    mode = _CHOICES.get(str(choice.get("type"))) if isinstance(choice, dict) else None
    if mode is None:
        raise BadRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    return choose_tools(mode, choice.get("name") if mode == "named" else None, tools)


def _think(value: Any) -> bool | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind in ("enabled", "adaptive"):
        return True
    if kind == "disabled":
        return False
    raise BadRequest("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")


def _output_format(config: Any) -> Any:
    """``output_config.format`` (structured outputs) → the core's ``format`` (a JSON schema)."""
    if config is None:
        return None
    if not isinstance(config, dict):
        raise BadRequest("output_config: Input should be a valid dictionary")
    fmt = config.get("format")
    if fmt is None:
        return None
    schema = fmt.get("schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    if not isinstance(schema, dict):
        raise BadRequest('output_config.format: expected {"type": "json_schema", "schema": {...}}')
    return schema


def _chat(
    model: str, messages: Any, system: Any, tools_raw: Any, choice: Any, thinking: Any
) -> tuple[ChatInput, bool]:
    if not model:
        raise BadRequest("model: Field required")
    converted = [*_system(system), *_messages(messages)]
    offered, forced = _tool_choice(choice, openai_tools(tools_raw))
    try:
        tools = [Tool.from_json(t) for t in offered]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadRequest(f"tools: {exc}") from None
    inp = ChatInput(model=model, messages=converted, tools=tools, format=forced, think=_think(thinking))
    return inp, forced is not None


def from_messages_request(req: MessagesRequest) -> MessagesPlan:
    """Translate ``/v1/messages`` into one core chat."""
    if req.max_tokens is None:
        raise BadRequest("max_tokens: Field required")
    if req.max_tokens < 1:
        raise BadRequest("max_tokens: Input should be greater than or equal to 1")
    inp, forced = _chat(req.model, req.messages, req.system, req.tools, req.tool_choice, req.thinking)
    options: dict[str, Any] = {"num_predict": req.max_tokens}
    if req.temperature is not None:
        options["temperature"] = req.temperature
    if req.top_p is not None:
        options["top_p"] = req.top_p
    if req.top_k is not None:
        options["top_k"] = req.top_k
    inp.options = options
    if not forced:
        inp.format = _output_format(req.output_config)
    stops = [s for s in req.stop_sequences or [] if s]
    return MessagesPlan(req.model, inp, req.stream, stops, forced)


def from_count_tokens_request(req: CountTokensRequest) -> ChatInput:
    """Translate ``/v1/messages/count_tokens`` into the chat whose prompt is counted."""
    inp, _ = _chat(req.model, req.messages, req.system, req.tools, req.tool_choice, req.thinking)
    return inp
