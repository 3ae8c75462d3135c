"""Forcing one tool call: the JSON schema that admits exactly one call, and reading the call back.

Shared by every dialect that lets a client require a tool (OpenAI ``tool_choice: required`` or a
named function, Anthropic ``tool_choice: any``/``tool``, Responses ``tool_choice``): the core only
knows ``format``, so the adapter constrains the output to ``{"name", "arguments"}`` JSON and turns
that JSON into a tool call afterwards.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from corral.api.streaming import join_chunks
from corral.core.assemble.toolcalls import new_tool_call_id
from corral.core.errors import BadRequest
from corral.core.inference import Chunk
from corral.core.templates import ToolCall, ToolCallFunction

__all__ = ["call_schema", "choose_tools", "forced_call", "forced_chunks"]


def call_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """A JSON schema whose instances are exactly one call ``{"name", "arguments"}`` of ``tools``
    (OpenAI-shaped: ``{"type": "function", "function": {"name", "parameters"}}``).

    Each tool's ``$defs`` move to the root so its ``#/$defs/...`` references still resolve.
    """
    defs: dict[str, Any] = {}
    options = []
    for tool in tools:
        fn = tool.get("function")
        fn = fn if isinstance(fn, dict) else {}
        params = fn.get("parameters")
        params = dict(params) if isinstance(params, dict) else {"type": "object"}
        defs.update(params.pop("$defs", None) or {})
        options.append(
            {
                "type": "object",
                "properties": {"name": {"enum": [fn.get("name", "")]}, "arguments": params},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    schema: dict[str, Any] = options[0] if len(options) == 1 else {"anyOf": options}
    return {**schema, "$defs": defs} if defs else schema


def choose_tools(
    mode: str, name: str | None, tools: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(tools offered to the model, JSON schema forcing one call or None) for a tool choice each
    dialect has parsed into ``mode`` ``auto``, ``none``, ``required`` or ``named`` (with ``name``)."""
    if mode == "auto":
        return tools, None
    if mode == "none":
        return [], None
    if mode == "required":
        if not tools:
            raise BadRequest("tool_choice 'required' needs at least one tool in 'tools'")
        return tools, call_schema(tools)
    chosen = [t for t in tools if t.get("function", {}).get("name") == name]
    if not chosen:
        raise BadRequest(f"tool_choice names function '{name}', which is not in 'tools'")
    return tools, call_schema(chosen)


def forced_call(joined: Chunk) -> Chunk:
    """A generation constrained to ``{"name", "arguments"}`` JSON, with its content as a tool call.

    The core's tool-call parser may already have recognised the call; output cut short (by a
    token limit) stays content with its ``length`` done reason.
    """
    if joined.tool_calls:
        return joined
    try:
        data = json.loads(joined.content)
    except ValueError:
        return joined
    if not isinstance(data, dict) or not isinstance(data.get("arguments"), dict):
        return joined
    call = ToolCall(ToolCallFunction(str(data.get("name", "")), data["arguments"], 0), new_tool_call_id())
    joined.tool_calls = [call]
    joined.content = ""
    return joined


async def forced_chunks(chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
    """A forced generation held to its end and handed over as one chunk carrying the call."""
    yield forced_call(join_chunks([c async for c in chunks]))
