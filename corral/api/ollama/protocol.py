"""Wire types of Ollama's native API (``/api/*``), requests and responses, on two bases.

Requests decode leniently like Go's binder (unknown fields ignored); fields whose JSON type varies
(``format``, ``think``, ``keep_alive``, ``input``...) are ``Any`` and checked by
:mod:`corral.api.ollama.from_ollama`. Responses leave out fields at their default, as Go's
``omitempty`` does; the fields Ollama always sends have no default, so they are always encoded
(``response: ""``, ``done: false``, a tool call's ``index: 0``). Field order is Ollama's.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "CopyRequest",
    "CreateRequest",
    "DebugResponse",
    "DeleteRequest",
    "DetokenizeRequest",
    "DetokenizeResponse",
    "EmbedRequest",
    "EmbedResponse",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "GenerateRequest",
    "GenerateResponse",
    "ListResponse",
    "MessageIn",
    "ProcessModel",
    "ProcessResponse",
    "PullRequest",
    "PushRequest",
    "ShowRequest",
    "TokenizeRequest",
    "TokenizeResponse",
    "ToolCallFunctionOut",
    "ToolCallOut",
    "VersionResponse",
]


class Request(msgspec.Struct, kw_only=True):
    """Request base: unknown fields are ignored (msgspec's default), as Go's json decoder does."""


class Reply(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Response base: fields at their default are left out (Go's ``omitempty``)."""


# --- model management -------------------------------------------------------------------------


class ShowRequest(Request):
    model: str = ""
    name: str = ""
    verbose: bool = False
    system: str = ""
    template: str = ""
    options: dict[str, Any] | None = None


class CopyRequest(Request):
    source: str = ""
    destination: str = ""


class DeleteRequest(Request):
    model: str = ""
    name: str = ""


class PullRequest(Request):
    model: str = ""
    name: str = ""
    insecure: bool = False
    stream: bool | None = None
    username: str = ""
    password: str = ""


class PushRequest(Request):
    model: str = ""
    name: str = ""
    insecure: bool = False
    stream: bool | None = None


class MessageIn(Request):
    role: str = ""
    content: str = ""
    thinking: str = ""
    images: list[str] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_name: str = ""
    tool_call_id: str = ""


class CreateRequest(Request):
    model: str = ""
    name: str = ""
    from_: str = msgspec.field(default="", name="from")
    files: dict[str, str] | None = None
    adapters: dict[str, str] | None = None
    template: str | None = None
    system: str | None = None
    license: str | list[str] | None = None
    parameters: dict[str, Any] | None = None
    messages: list[MessageIn] | None = None
    quantize: str = ""
    quantization: str = ""
    stream: bool | None = None
    # legacy form (≤ v0.5.4): refused with a clear message, never opened
    modelfile: str = ""
    path: str = ""


class VersionResponse(Reply):
    version: str


class ListResponse(Reply):
    """``/api/tags``: the catalog's entries (plain objects shaped by the core's catalog)."""

    models: list[dict[str, Any]]


class ProcessModel(Reply):
    """One ``/api/ps`` entry; ``loading`` (corral's) only while the model loads."""

    name: str
    model: str
    size: int
    digest: str
    details: dict[str, Any]
    expires_at: str
    size_vram: int
    context_length: int
    backend: dict[str, Any]
    slots: dict[str, int] | None = None
    """corral's: ``{total, in_use, waiting}`` of a loaded model (Ollama #11695)."""
    loading: dict[str, Any] | None = None


class ProcessResponse(Reply):
    models: list[ProcessModel]


# --- generate and chat ------------------------------------------------------------------------


class GenerateRequest(Request):
    model: str = ""
    prompt: str = ""
    suffix: str = ""
    system: str = ""
    template: str = ""
    context: list[int] | None = None
    stream: bool | None = None
    raw: bool = False
    format: Any = None
    keep_alive: Any = msgspec.UNSET
    images: list[str] | None = None
    options: dict[str, Any] | None = None
    think: Any = None
    truncate: bool | None = None
    shift: bool | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    debug_render_only: bool = msgspec.field(default=False, name="_debug_render_only")


class ChatRequest(Request):
    model: str = ""
    messages: list[dict[str, Any]] | None = None
    stream: bool | None = None
    format: Any = None
    keep_alive: Any = msgspec.UNSET
    tools: list[dict[str, Any]] | None = None
    options: dict[str, Any] | None = None
    think: Any = None
    truncate: bool | None = None
    shift: bool | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    debug_render_only: bool = msgspec.field(default=False, name="_debug_render_only")


class ToolCallFunctionOut(Reply):
    index: int
    name: str
    arguments: dict[str, Any]


class ToolCallOut(Reply, kw_only=True):
    id: str = ""
    function: ToolCallFunctionOut


class GenerateResponse(Reply, kw_only=True):
    """One ``/api/generate`` object (a stream's chunks and the final one have the same type).

    The end fields (``done_reason`` ... ``logprobs``) repeat in :class:`ChatResponse` on purpose: a
    shared base class would put them first on the wire, before ``model``.
    """

    model: str
    created_at: str
    response: str
    thinking: str = ""
    done: bool
    context: list[int] | None = None
    tool_calls: list[ToolCallOut] | None = None
    done_reason: str = ""
    total_duration: int = 0
    load_duration: int = 0
    prompt_eval_count: int = 0
    prompt_eval_duration: int = 0
    eval_count: int = 0
    eval_duration: int = 0
    logprobs: list[dict[str, Any]] | None = None


class ChatMessage(Reply):
    role: str
    content: str
    thinking: str = ""
    tool_calls: list[ToolCallOut] | None = None


class ChatResponse(Reply):
    """One ``/api/chat`` object."""

    model: str
    created_at: str
    message: ChatMessage
    done: bool
    done_reason: str = ""
    total_duration: int = 0
    load_duration: int = 0
    prompt_eval_count: int = 0
    prompt_eval_duration: int = 0
    eval_count: int = 0
    eval_duration: int = 0
    logprobs: list[dict[str, Any]] | None = None


class DebugResponse(Reply):
    """``_debug_render_only``: the rendered prompt instead of an answer."""

    model: str
    created_at: str
    debug_info: dict[str, Any] = msgspec.field(name="_debug_info")


# --- embeddings -------------------------------------------------------------------------------


class EmbedRequest(Request):
    model: str = ""
    input: Any = None
    truncate: bool | None = None
    dimensions: int = 0
    keep_alive: Any = msgspec.UNSET
    options: dict[str, Any] | None = None


class EmbeddingRequest(Request):
    model: str = ""
    prompt: str = ""
    keep_alive: Any = msgspec.UNSET
    options: dict[str, Any] | None = None


class EmbedResponse(Reply):
    """``/api/embed``; no metrics when there was no input."""

    model: str
    embeddings: list[list[float]]
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None


class EmbeddingResponse(Reply):
    """The legacy ``/api/embeddings``."""

    embedding: list[float]


# --- tokenizer --------------------------------------------------------------------------------


class TokenizeRequest(Request):
    """``POST /api/tokenize``. ``add_special`` adds BOS/EOS as the model's metadata says;
    ``parse_special`` turns control-token text (``<start_of_turn>``...) into those tokens."""

    model: str = ""
    content: str = ""
    add_special: bool = False
    parse_special: bool = True


class TokenizeResponse(Reply):
    model: str
    tokens: list[int]


class DetokenizeRequest(Request):
    """``POST /api/detokenize``."""

    model: str = ""
    tokens: list[int] = msgspec.field(default_factory=list)


class DetokenizeResponse(Reply):
    model: str
    content: str
