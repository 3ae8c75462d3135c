"""POST /v1/embeddings."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.ollama.from_ollama import embed_inputs
from corral.api.ollama.to_ollama import float32_values
from corral.core.errors import BadRequest
from corral.core.inference.types import EmbedInput
from corral.core.services import Services

__all__ = ["HANDLERS", "OpenAIEmbeddingRequest"]

Svc = NamedDependency[Services]


class OpenAIEmbeddingRequest(msgspec.Struct, kw_only=True):
    model: str = ""
    input: Any = None
    encoding_format: str = ""
    dimensions: int = 0
    user: str | None = None


def _inputs(value: Any) -> list[str]:
    """``""`` is one empty input; a missing input or ``[]`` is 400 ``invalid input``."""
    if value is None or value == []:
        raise BadRequest("invalid input")
    if value == "":
        return [""]
    return embed_inputs(value)


@post("/embeddings", status_code=200)
async def embeddings(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """OpenAI's embeddings: ``float`` lists or ``base64`` little-endian float32, with token usage."""
    req = decode_body(await request.body(), OpenAIEmbeddingRequest, "EmbedRequest")
    fmt = req.encoding_format or "float"
    if fmt not in ("float", "base64"):
        raise BadRequest(f"invalid encoding_format {req.encoding_format!r}: use 'float' or 'base64'")
    inp = EmbedInput(model=req.model, inputs=_inputs(req.input), dimensions=req.dimensions)
    result = await services.embedder.embed(inp, "openai.embeddings")
    data = []
    for i, vector in enumerate(result.embeddings):
        values: Any
        if fmt == "base64":
            values = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
        else:
            values = float32_values(vector)
        data.append({"object": "embedding", "embedding": values, "index": i})
    tokens = result.prompt_eval_count
    return json_response(
        {
            "object": "list",
            "data": data,
            "model": req.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
        media_type="application/json",
    )


HANDLERS: list[HTTPRouteHandler] = [embeddings]
