"""Plain data the prompt builders take: chat messages, tool calls, tool definitions, template values.

Field names follow the Ollama API (snake_case here, JSON keys in ``from_json``); the templates see
them under Go names (``.Role``, ``.ToolCalls``, ``.Function.Arguments``) through ``view.py``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Message",
    "TemplateValues",
    "Think",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "ToolParameters",
    "ToolProperty",
    "think_flags",
]

Think = bool | str | None
"""A request's ``think`` field: absent (None), a bool, or a level ("low", "medium", "high", "max")."""


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def _decode_image(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("images must be base64 strings")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"illegal base64 data in image: {exc}") from None


@dataclass(slots=True)
class ToolCallFunction:
    """The function part of a tool call: its name and JSON arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    index: int = 0


@dataclass(slots=True)
class ToolCall:
    """One tool call made by the assistant."""

    function: ToolCallFunction
    id: str = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ToolCall:
        """Build from the API shape ``{"id"?, "function": {"index"?, "name", "arguments"}}``."""
        fn = obj.get("function") or {}
        arguments = fn.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise ValueError("tool call arguments must be an object")
        index = fn.get("index") or 0
        return cls(ToolCallFunction(_str(fn, "name"), dict(arguments), int(index)), _str(obj, "id"))


@dataclass(slots=True)
class ToolProperty:
    """A JSON-schema property of a tool parameter; ``type`` holds one or more type names."""

    type: list[str] = field(default_factory=list)
    description: str = ""
    enum: list[Any] | None = None
    items: Any = None
    properties: dict[str, ToolProperty] | None = None
    any_of: list[ToolProperty] | None = None
    required: list[str] | None = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ToolProperty:
        """Build from a JSON-schema property object."""
        raw_type = obj.get("type")
        types = [raw_type] if isinstance(raw_type, str) else [str(t) for t in raw_type or []]
        props = obj.get("properties")
        any_of = obj.get("anyOf")
        return cls(
            type=types,
            description=_str(obj, "description"),
            enum=list(obj["enum"]) if obj.get("enum") is not None else None,
            items=obj.get("items"),
            properties={k: cls.from_json(v) for k, v in props.items()} if isinstance(props, dict) else None,
            any_of=[cls.from_json(p) for p in any_of] if isinstance(any_of, list) else None,
            required=list(obj["required"]) if obj.get("required") is not None else None,
        )


@dataclass(slots=True)
class ToolParameters:
    """The ``parameters`` object of a tool function (a JSON schema of type object)."""

    type: str = "object"
    properties: dict[str, ToolProperty] | None = None
    required: list[str] | None = None
    defs: Any = None
    items: Any = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ToolParameters:
        """Build from a JSON-schema object."""
        props = obj.get("properties")
        return cls(
            type=_str(obj, "type"),
            properties={k: ToolProperty.from_json(v) for k, v in props.items()}
            if isinstance(props, dict)
            else None,
            required=list(obj["required"]) if obj.get("required") is not None else None,
            defs=obj.get("$defs"),
            items=obj.get("items"),
        )


@dataclass(slots=True)
class ToolFunction:
    """A callable tool's name, description and parameter schema."""

    name: str
    description: str = ""
    parameters: ToolParameters = field(default_factory=ToolParameters)


@dataclass(slots=True)
class Tool:
    """A tool offered to the model (``{"type": "function", "function": {...}}``)."""

    function: ToolFunction
    type: str = "function"
    items: Any = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Tool:
        """Build from the API shape."""
        fn = obj.get("function") or {}
        params = fn.get("parameters")
        return cls(
            ToolFunction(
                _str(fn, "name"),
                _str(fn, "description"),
                ToolParameters.from_json(params) if isinstance(params, dict) else ToolParameters(type=""),
            ),
            type=_str(obj, "type"),
            items=obj.get("items"),
        )


@dataclass(slots=True)
class Message:
    """One chat message; ``images`` hold raw image bytes."""

    role: str
    content: str = ""
    thinking: str = ""
    images: list[bytes] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_name: str = ""
    tool_call_id: str = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Message:
        """Build from the API shape; images may be base64 strings or bytes. Raises ValueError."""
        return cls(
            role=_str(obj, "role"),
            content=_str(obj, "content"),
            thinking=_str(obj, "thinking"),
            images=[_decode_image(i) for i in obj.get("images") or []],
            tool_calls=[ToolCall.from_json(c) for c in obj.get("tool_calls") or []],
            tool_name=_str(obj, "tool_name"),
            tool_call_id=_str(obj, "tool_call_id"),
        )


def think_flags(think: Think) -> tuple[bool, str, bool]:
    """Map a request's ``think`` to the template's (``.Think``, ``.ThinkLevel``, ``.IsThinkSet``)."""
    if think is None:
        return False, "", False
    if isinstance(think, bool):
        return think, "medium" if think else "", True
    return think not in ("", "none"), think, True


@dataclass(slots=True)
class TemplateValues:
    """What Ollama hands a template: messages, tools, a prompt/suffix pair and thinking flags."""

    messages: Sequence[Message] = ()
    tools: Sequence[Tool] | None = None
    prompt: str = ""
    suffix: str = ""
    think: bool = False
    think_level: str = ""
    is_think_set: bool = False

    @classmethod
    def with_think(cls, think: Think, **kwargs: Any) -> TemplateValues:
        """Build values with the three thinking flags derived from a request's ``think``."""
        flag, level, is_set = think_flags(think)
        return cls(think=flag, think_level=level, is_think_set=is_set, **kwargs)
