"""How messages and tools look to a template: Go field names, Go JSON layout and Go number types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral.core.templates.types import (
    Message,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolFunction,
    ToolParameters,
    ToolProperty,
)
from corral.core.templates.values import JSONList, JSONMap, PropertyType, Struct

__all__ = ["json_value", "message_view", "to_go", "tool_call_view", "tool_view", "tools_view"]


def json_value(value: Any) -> Any:
    """Convert decoded request JSON to what Go's ``any`` decoding yields: every number is a float64."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def _property_view(prop: ToolProperty) -> Struct:
    return Struct(
        "api.ToolProperty",
        {
            "AnyOf": [_property_view(p) for p in prop.any_of] if prop.any_of is not None else None,
            "Type": PropertyType(prop.type),
            "Items": json_value(prop.items),
            "Description": prop.description,
            "Enum": json_value(prop.enum) if prop.enum is not None else None,
            "Properties": _properties_view(prop.properties),
            "Required": list(prop.required) if prop.required is not None else None,
        },
        (
            ("AnyOf", "anyOf", True),
            ("Type", "type", True),
            ("Items", "items", True),
            ("Description", "description", True),
            ("Enum", "enum", True),
            ("Properties", "properties", True),
            ("Required", "required", True),
        ),
    )


def _properties_view(props: Mapping[str, ToolProperty] | None) -> JSONMap:
    if props is None:
        return JSONMap(None, "api.ToolPropertiesMap")
    return JSONMap({k: _property_view(v) for k, v in props.items()}, "api.ToolPropertiesMap")


def _parameters_view(params: ToolParameters) -> Struct:
    return Struct(
        "api.ToolFunctionParameters",
        {
            "Type": params.type,
            "Defs": json_value(params.defs),
            "Items": json_value(params.items),
            "Required": list(params.required) if params.required is not None else None,
            "Properties": _properties_view(params.properties),
        },
        (
            ("Type", "type", False),
            ("Defs", "$defs", True),
            ("Items", "items", True),
            ("Required", "required", True),
            ("Properties", "properties", False),
        ),
    )


def _function_view(fn: ToolFunction) -> Struct:
    return Struct(
        "api.ToolFunction",
        {"Name": fn.name, "Description": fn.description, "Parameters": _parameters_view(fn.parameters)},
        (("Name", "name", False), ("Description", "description", True), ("Parameters", "parameters", False)),
        stringer=True,
    )


def tool_view(tool: Tool) -> Struct:
    """A tool as templates see it; prints as its compact JSON."""
    return Struct(
        "api.Tool",
        {"Type": tool.type, "Items": json_value(tool.items), "Function": _function_view(tool.function)},
        (("Type", "type", False), ("Items", "items", True), ("Function", "function", False)),
        stringer=True,
    )


def tools_view(tools: Sequence[Tool] | None) -> JSONList:
    """``.Tools``: prints as a JSON array, or ``null`` when the request had no tools."""
    if tools is None:
        return JSONList(None, "api.Tools")
    return JSONList([tool_view(t) for t in tools], "api.Tools")


def tool_call_view(call: ToolCall) -> Struct:
    """A tool call as templates see it (``.ID``, ``.Function.Name``, ``.Function.Arguments``)."""
    fn: ToolCallFunction = call.function
    function = Struct(
        "api.ToolCallFunction",
        {
            "Index": fn.index,
            "Name": fn.name,
            "Arguments": JSONMap(json_value(fn.arguments), "api.ToolCallFunctionArguments"),
        },
        (("Index", "index", True), ("Name", "name", False), ("Arguments", "arguments", False)),
    )
    return Struct(
        "api.ToolCall",
        {"ID": call.id, "Function": function},
        (("ID", "id", True), ("Function", "function", False)),
    )


def message_view(message: Message) -> Struct:
    """A message as templates see it (``.Role``, ``.Content``, ``.ToolCalls``, ...)."""
    return Struct(
        "api.Message",
        {
            "Role": message.role,
            "Content": message.content,
            "Thinking": message.thinking,
            "Images": list(message.images),
            "ToolCalls": [tool_call_view(c) for c in message.tool_calls],
            "ToolName": message.tool_name,
            "ToolCallID": message.tool_call_id,
        },
        (
            ("Role", "role", False),
            ("Content", "content", False),
            ("Thinking", "thinking", True),
            ("Images", "images", True),
            ("ToolCalls", "tool_calls", True),
            ("ToolName", "tool_name", True),
            ("ToolCallID", "tool_call_id", True),
        ),
    )


def to_go(value: Any) -> Any:
    """Convert caller data for ``Template.render``: API dataclasses become Go views, containers recurse."""
    if isinstance(value, Message):
        return message_view(value)
    if isinstance(value, Tool):
        return tool_view(value)
    if isinstance(value, ToolCall):
        return tool_call_view(value)
    if isinstance(value, (Struct, JSONMap, JSONList, PropertyType)):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_go(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_go(v) for v in value]
    return value
