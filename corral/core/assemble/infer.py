"""Reading a template's tool-call and thinking markup by rendering it with sentinel values.

Rendering an assistant turn twice, once with a sentinel (a tool call, or thinking) and once with
plain content, and diffing the two shows exactly the text the template puts around the sentinel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from corral.core.assemble._calls import object_end
from corral.core.assemble._text import common_prefix_len, common_suffix_len
from corral.core.errors import TemplateError
from corral.core.templates import (
    Message,
    TemplateValues,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolFunction,
)
from corral.core.templates.jinja_template import ChatTemplate

__all__ = ["ToolCallFormat", "thinking_tags", "tool_call_format"]

_CONTENT = "\u2603corral-content\u2603"
_THINKING = "\u2603corral-thinking\u2603"
_TOOL = "corral_sentinel_tool"
_ARGUMENTS = {"corral_sentinel_argument": "corral-sentinel-value"}
_GLUE = " \t\r\n["


@dataclass(frozen=True, slots=True)
class ToolCallFormat:
    """How a template writes tool calls: the text before the JSON and the text after it.

    ``prefix`` None means the template puts bare JSON in the assistant turn (or none could be
    inferred); then only output that starts with ``{`` or ``[`` is parsed as tool calls.
    """

    prefix: str | None = None
    closing: str | None = None


def _render(template: ChatTemplate, messages: list[Message], tools: list[Tool] | None = None) -> str | None:
    values = TemplateValues.with_think(True, messages=messages, tools=tools)
    try:
        return template.execute(values)
    except (TemplateError, RecursionError):
        return None


@functools.lru_cache(maxsize=64)
def tool_call_format(template: ChatTemplate | None) -> ToolCallFormat:
    """Infer the tool-call prefix (e.g. ``<tool_call>``, ``[TOOL_CALLS]``) and closing tag of a template."""
    if template is None or not template.uses("Messages"):
        return ToolCallFormat()
    tools = [Tool(ToolFunction(_TOOL, "corral sentinel"))]
    call = ToolCall(ToolCallFunction(_TOOL, dict(_ARGUMENTS)))
    user = Message("user", "hello")
    called = _render(template, [user, Message("assistant", tool_calls=[call])], tools)
    plain = _render(template, [user, Message("assistant", _CONTENT)], tools)
    if called is None or plain is None:
        return ToolCallFormat()
    start = common_prefix_len(called, plain, len(called))
    name_at = called.find(_TOOL, start)
    obj_start = called.rfind("{", start, name_at) if name_at >= 0 else -1
    if obj_start < 0:
        return ToolCallFormat()
    before = called[start:obj_start].split("{", 1)[0]
    prefix = before.lstrip().rstrip(_GLUE) or None
    end = object_end(called, obj_start)
    closing = None
    if end is not None:
        tail = common_suffix_len(called, plain, len(called) - end)
        after = called[end : len(called) - tail].lstrip(" \t\r\n]},").rstrip()
        closing = after if after and "{" not in after else None
    return ToolCallFormat(prefix, closing)


@functools.lru_cache(maxsize=64)
def thinking_tags(template: ChatTemplate | None) -> tuple[str, str] | None:
    """The (opening, closing) tags a template writes around an assistant's thinking, if any.

    Found by rendering an assistant turn with and without thinking; a template that never shows
    ``.Thinking`` of an assistant message (or shows it without tags around it) gives None.
    """
    if template is None or not template.uses("Thinking") or not template.uses("Messages"):
        return None
    user = Message("user", "hello")
    for trailing in ([], [Message("user", "again")]):
        with_thinking = _render(template, [user, Message("assistant", _CONTENT, _THINKING), *trailing])
        without = _render(template, [user, Message("assistant", _CONTENT), *trailing])
        if with_thinking is None or without is None:
            continue
        at = with_thinking.find(_THINKING)
        if at < 0:
            continue
        after = at + len(_THINKING)
        start = common_prefix_len(with_thinking, without, at)
        # The content sentinel bounds the closing tag; a common-suffix diff could eat the tag's end
        # when it matches whatever precedes the content in the plain render (e.g. "|>").
        stop = with_thinking.find(_CONTENT, after)
        if stop < 0:
            stop = len(with_thinking) - common_suffix_len(with_thinking, without, len(with_thinking) - after)
        opening = with_thinking[start:at].strip()
        closing = with_thinking[after:stop].strip()
        if opening and closing and _CONTENT not in opening + closing:
            return opening, closing
    return None
