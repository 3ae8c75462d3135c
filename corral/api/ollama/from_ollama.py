"""Translating decoded Ollama requests into core inputs: generate, chat and embeddings.

Pure functions, no I/O. Errors are :class:`BadRequest` in Ollama's wording.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from corral.api.ollama.protocol import ChatRequest, EmbeddingRequest, EmbedRequest, GenerateRequest
from corral.core.durations import parse_keep_alive
from corral.core.errors import BadRequest
from corral.core.inference import ChatInput, GenerateInput
from corral.core.inference.types import EmbedInput
from corral.core.templates import Message, Tool

__all__ = ["chat_input", "embed_input", "embed_inputs", "embedding_input", "generate_input"]


def _think(value: Any) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value
    raise BadRequest('think must be a boolean or string ("high", "medium", "low", "max", true, or false)')


def _keep_alive(value: Any) -> int | None:
    return None if value is msgspec.UNSET else parse_keep_alive(value)


def _images(values: Any) -> list[bytes]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise BadRequest("images must be a list of base64 strings")
    out = []
    for v in values:
        if not isinstance(v, str):
            raise BadRequest("images must be a list of base64 strings")
        try:
            out.append(base64.b64decode(v, validate=True))
        except (binascii.Error, ValueError):
            raise BadRequest("illegal base64 data in images") from None
    return out


def _shared(req: GenerateRequest | ChatRequest) -> dict[str, Any]:
    """The fields ``/api/generate`` and ``/api/chat`` have in common, translated alike."""
    return {
        "format": req.format,
        "options": req.options,
        "keep_alive_ns": _keep_alive(req.keep_alive),
        "think": _think(req.think),
        "logprobs": req.logprobs,
        "top_logprobs": req.top_logprobs,
        "truncate": req.truncate is not False,
        "shift": req.shift is not False,
        "debug_render_only": req.debug_render_only,
    }


def generate_input(req: GenerateRequest) -> GenerateInput:
    """Translate a decoded ``/api/generate`` body."""
    return GenerateInput(
        model=req.model,
        prompt=req.prompt,
        suffix=req.suffix,
        system=req.system or None,
        template=req.template or None,
        context=req.context,
        raw=req.raw,
        images=_images(req.images),
        **_shared(req),
    )


def _message(raw: dict[str, Any]) -> Message:
    if not isinstance(raw.get("content", ""), str):
        raise BadRequest(
            "json: cannot unmarshal array into Go struct field Message.messages.content of type string"
        )
    data = dict(raw)
    data["role"] = str(data.get("role", "")).lower()
    images = data.get("images")
    if images:
        data["images"] = _images(images)
    try:
        return Message.from_json(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadRequest(f"invalid message: {exc}") from None


def chat_input(req: ChatRequest) -> ChatInput:
    """Translate a decoded ``/api/chat`` body."""
    try:
        tools = [Tool.from_json(t) for t in req.tools or []]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadRequest(f"invalid tool: {exc}") from None
    return ChatInput(
        model=req.model,
        messages=[_message(m) for m in req.messages or []],
        tools=tools,
        **_shared(req),
    )


def embed_inputs(value: Any) -> list[str]:
    """``input`` as Ollama reads it: a string (``""`` means none) or a list of strings.

    Anything else (numbers, token arrays, objects) is 400 ``invalid input type``.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadRequest("invalid input type")


def embed_input(req: EmbedRequest) -> EmbedInput:
    """Translate a decoded ``/api/embed`` body (L2-normalized vectors)."""
    return EmbedInput(
        model=req.model,
        inputs=embed_inputs(req.input),
        truncate=req.truncate is not False,
        dimensions=req.dimensions,
        options=req.options,
        keep_alive_ns=_keep_alive(req.keep_alive),
    )


def embedding_input(req: EmbeddingRequest) -> EmbedInput:
    """Translate the legacy ``/api/embeddings`` body: one ``prompt``, not normalized, model required."""
    return EmbedInput(
        model=req.model,
        inputs=[req.prompt] if req.prompt else [],
        normalize=False,
        options=req.options,
        keep_alive_ns=_keep_alive(req.keep_alive),
        model_required=True,
    )
