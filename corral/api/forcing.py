"""Forcing one tool call: the JSON schema that admits exactly one call, and reading the call back.

Shared by every dialect that lets a client require a tool (OpenAI ``tool_choice: required`` or a
named function, Anthropic ``tool_choice: any``/``tool``, Responses ``tool_choice``): the core only
knows ``format``, so the adapter constrains the output to ``{"name", "arguments"}`` JSON and turns
that JSON into a tool call afterwards.
"""

from __future__ import annotations

import json
from typing import Any

from corral.core.assemble.toolcalls import new_tool_call_id
from corral.core.inference import Chunk
from corral.core.templates import ToolCall, ToolCallFunction

__all__ = ["call_schema", "forced_call"]


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
