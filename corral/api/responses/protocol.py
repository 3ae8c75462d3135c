"""Wire types of OpenAI's Responses API (``/v1/responses``).

The request decodes leniently (unknown fields ignored); fields whose JSON type varies (``input``,
``tool_choice``, ``text``...) are ``Any`` and checked by :mod:`corral.api.responses.from_responses`.
The response object is a Struct; output items are plain objects built by ``to_responses``.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["InputTokensDetails", "OutputTokensDetails", "ResponseObject", "ResponsesRequest", "Usage"]


class ResponsesRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/responses``."""

    model: str = ""
    input: Any = None
    instructions: str | None = None
    tools: Any = None
    tool_choice: Any = None
    stream: bool = False
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    reasoning: Any = None
    text: Any = None
    previous_response_id: str | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    parallel_tool_calls: bool | None = None
    truncation: str | None = None
    user: str | None = None
    background: bool | None = None
    conversation: Any = None


class InputTokensDetails(msgspec.Struct, kw_only=True):
    """Prompt tokens served from a cache (corral reports none)."""

    cached_tokens: int = 0


class OutputTokensDetails(msgspec.Struct, kw_only=True):
    """Generated tokens spent on reasoning (not counted separately by corral: 0)."""

    reasoning_tokens: int = 0


class Usage(msgspec.Struct, kw_only=True):
    """Token counts of one response."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails = msgspec.field(default_factory=InputTokensDetails)
    output_tokens_details: OutputTokensDetails = msgspec.field(default_factory=OutputTokensDetails)


class ResponseObject(msgspec.Struct, kw_only=True):
    """The ``response`` object: whole replies, ``GET /v1/responses/{id}`` and the stream's
    ``response.created`` / ``response.completed`` events (every field is always sent)."""

    id: str
    object: str = "response"
    created_at: int
    status: str
    completed_at: int | None = None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    model: str
    output: list[dict[str, Any]] = msgspec.field(default_factory=list)
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    reasoning: dict[str, Any] = msgspec.field(default_factory=lambda: {"effort": None, "summary": None})
    store: bool = True
    temperature: float | None = None
    text: dict[str, Any] = msgspec.field(default_factory=lambda: {"format": {"type": "text"}})
    tool_choice: Any = "auto"
    tools: list[dict[str, Any]] = msgspec.field(default_factory=list)
    top_p: float | None = None
    truncation: str = "disabled"
    usage: Usage | None = None
    user: str | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
