"""``/api/tokenize`` and ``/api/detokenize`` (the shape of Ollama's open pull requests)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.ollama.protocol import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from corral.api.tokens import tokenizing
from corral.core.services import Services

__all__ = ["HANDLERS"]

Svc = NamedDependency[Services]


@post("/api/tokenize", status_code=200)
async def tokenize(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """Token ids of ``content`` under ``model``'s vocabulary (no weights are loaded)."""
    req = decode_body(await request.body(), TokenizeRequest, "TokenizeRequest")
    tokens = await tokenizing(services).tokenize(
        req.model, req.content, add_special=req.add_special, parse_special=req.parse_special
    )
    return json_response(TokenizeResponse(model=req.model, tokens=tokens))


@post("/api/detokenize", status_code=200)
async def detokenize(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """The text of ``tokens`` (bytes that are not whole UTF-8 characters become U+FFFD)."""
    req = decode_body(await request.body(), DetokenizeRequest, "DetokenizeRequest")
    data = await tokenizing(services).detokenize(req.model, req.tokens)
    return json_response(DetokenizeResponse(model=req.model, content=data.decode("utf-8", "replace")))


HANDLERS: list[HTTPRouteHandler] = [tokenize, detokenize]
