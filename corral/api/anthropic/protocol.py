"""Wire types of Anthropic's Messages API (``/v1/messages``, ``/v1/messages/count_tokens``).

Requests are decoded leniently (unknown fields ignored); fields whose JSON type varies
(``system``, message ``content``, ``tool_choice``...) are ``Any`` and checked by
:mod:`corral.api.anthropic.from_anthropic`. Responses are Structs on one base that leaves out
unset optional fields; ``None`` fields that Anthropic always sends (``stop_reason``) are kept.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AnthropicError",
    "CountTokensRequest",
    "CountTokensResponse",
    "ErrorBody",
    "MessageResponse",
    "MessagesRequest",
    "Usage",
]


class _Request(msgspec.Struct, kw_only=True):
    """Unknown fields are ignored, so newer SDKs keep working."""


class MessagesRequest(_Request):
    """``POST /v1/messages``."""

    model: str = ""
    max_tokens: int | None = None
    messages: Any = None
    system: Any = None
    stop_sequences: list[str] | None = None
    stream: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: Any = None
    tool_choice: Any = None
    thinking: Any = None
    output_config: Any = None
    metadata: Any = None
    service_tier: Any = None


class CountTokensRequest(_Request):
    """``POST /v1/messages/count_tokens``: a Messages request without sampling fields."""

    model: str = ""
    messages: Any = None
    system: Any = None
    tools: Any = None
    tool_choice: Any = None
    thinking: Any = None


class _Response(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Response base: fields left at their default are not sent."""


class Usage(_Response):
    """Token counts (``input_tokens`` is the rendered prompt, ``output_tokens`` the generated)."""

    input_tokens: int
    output_tokens: int


class MessageResponse(_Response, tag_field="type", tag="message"):
    """A whole ``message`` object (also the ``message`` of the ``message_start`` event)."""

    id: str
    role: str
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    stop_sequence: str | None
    usage: Usage


class CountTokensResponse(_Response):
    """``{"input_tokens": N}``."""

    input_tokens: int


class ErrorBody(msgspec.Struct, kw_only=True):
    """The ``error`` member of Anthropic's error object."""

    type: str
    message: str


class AnthropicError(msgspec.Struct, kw_only=True):
    """``{"type": "error", "error": {"type", "message"}}``."""

    error: ErrorBody
    type: str = "error"
