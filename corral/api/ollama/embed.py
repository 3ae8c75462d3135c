"""Handlers of /api/embed and the legacy /api/embeddings."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.ollama.from_ollama import embed_input, embedding_input
from corral.api.ollama.protocol import EmbeddingRequest, EmbedRequest
from corral.api.ollama.to_ollama import embed_response, embedding_response
from corral.core.services import Services

__all__ = ["HANDLERS"]

Svc = NamedDependency[Services]


@post("/api/embed", status_code=200)
async def embed(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """L2-normalized embeddings of one input or a list of inputs."""
    req = decode_body(await request.body(), EmbedRequest, "EmbedRequest")
    inp = embed_input(req)
    result = await services.embedder.embed(inp, "embed")
    return json_response(embed_response(req.model, result, bool(inp.inputs)))


@post("/api/embeddings", status_code=200)
async def embeddings(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """The legacy endpoint: one ``prompt``, a vector that is not normalized, no metrics."""
    req = decode_body(await request.body(), EmbeddingRequest, "EmbeddingRequest")
    result = await services.embedder.embed(embedding_input(req), "embeddings")
    return json_response(embedding_response(result))


HANDLERS: list[HTTPRouteHandler] = [embed, embeddings]
