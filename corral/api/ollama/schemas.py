"""Wire types of Ollama's model-management endpoints (requests are lenient, like Go's binder)."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "CopyRequest",
    "CreateRequest",
    "DeleteRequest",
    "PullRequest",
    "PushRequest",
    "ShowRequest",
]


class _Request(msgspec.Struct, kw_only=True):
    """Unknown fields are ignored (msgspec's default), as Go's json decoder does."""


class ShowRequest(_Request):
    model: str = ""
    name: str = ""
    verbose: bool = False
    system: str = ""
    template: str = ""
    options: dict[str, Any] | None = None


class CopyRequest(_Request):
    source: str = ""
    destination: str = ""


class DeleteRequest(_Request):
    model: str = ""
    name: str = ""


class PullRequest(_Request):
    model: str = ""
    name: str = ""
    insecure: bool = False
    stream: bool | None = None
    username: str = ""
    password: str = ""


class PushRequest(_Request):
    model: str = ""
    name: str = ""
    insecure: bool = False
    stream: bool | None = None


class MessageIn(_Request):
    role: str = ""
    content: str = ""
    thinking: str = ""
    images: list[str] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_name: str = ""
    tool_call_id: str = ""


class CreateRequest(_Request):
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
