"""Handlers of llama-server's ``POST /tokenize`` and ``POST /detokenize``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.llama_server.protocol import (
    DetokenizeRequest,
    DetokenizeResponse,
    Piece,
    TokenizeRequest,
    TokenizeResponse,
)
from corral.api.tokens import tokenizing
from corral.core.errors import BadRequest
from corral.core.services import Services

__all__ = ["HANDLERS", "piece_text"]

Svc = NamedDependency[Services]


def piece_text(data: bytes) -> str | list[int]:
    """llama-server's piece: the text when the bytes are valid UTF-8, else the bytes as numbers."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return list(data)


def _model(services: Services, name: str) -> str:
    """The model named, or the only loaded one (llama-server requests name none)."""
    if name:
        return name
    running = services.scheduler.running()
    if len(running) != 1:
        raise BadRequest("model is required (no single loaded model to default to)")
    return running[0].local.name.display_shortest()


@post("/tokenize", status_code=200)
async def tokenize(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """Token ids of ``content`` (with their pieces when ``with_pieces``)."""
    req = decode_body(await request.body(), TokenizeRequest, "TokenizeRequest")
    model = _model(services, req.model)
    use = tokenizing(services)
    ids = await use.tokenize(model, req.content, add_special=req.add_special, parse_special=req.parse_special)
    if not req.with_pieces:
        return json_response(TokenizeResponse(tokens=ids))
    pieces = [Piece(id=p.id, piece=piece_text(p.piece)) for p in await use.pieces(model, ids)]
    return json_response(TokenizeResponse(tokens=pieces))


@post("/detokenize", status_code=200)
async def detokenize(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """The text of ``tokens`` (incomplete UTF-8 becomes U+FFFD)."""
    req = decode_body(await request.body(), DetokenizeRequest, "DetokenizeRequest")
    data = await tokenizing(services).detokenize(_model(services, req.model), req.tokens)
    return json_response(DetokenizeResponse(content=data.decode("utf-8", "replace")))


HANDLERS: list[HTTPRouteHandler] = [tokenize, detokenize]
