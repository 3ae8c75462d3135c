"""/api/embed and the legacy /api/embeddings."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.core.durations import parse_keep_alive
from corral.core.errors import BadRequest
from corral.core.inference.types import EmbedInput
from corral.core.services import Services

__all__ = ["HANDLERS", "EmbedRequest", "EmbeddingRequest", "embed_inputs", "float32_values"]

Svc = NamedDependency[Services]


class EmbedRequest(msgspec.Struct, kw_only=True):
    model: str = ""
    input: Any = None
    truncate: bool | None = None
    dimensions: int = 0
    keep_alive: Any = msgspec.UNSET
    options: dict[str, Any] | None = None


class EmbeddingRequest(msgspec.Struct, kw_only=True):
    model: str = ""
    prompt: str = ""
    keep_alive: Any = msgspec.UNSET
    options: dict[str, Any] | None = None


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


def float32_values(vector: npt.NDArray[np.float32]) -> list[float]:
    """A float32 vector as the shortest decimals that read back to the same float32 (Go's output)."""
    return [float(str(x)) for x in vector.astype(np.float32)]


def _keep_alive(value: Any) -> int | None:
    return None if value is msgspec.UNSET else parse_keep_alive(value)


@post("/api/embed", status_code=200)
async def embed(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """L2-normalized embeddings of one input or a list of inputs."""
    req = decode_body(await request.body(), EmbedRequest, "EmbedRequest")
    inp = EmbedInput(
        model=req.model,
        inputs=embed_inputs(req.input),
        truncate=req.truncate is not False,
        dimensions=req.dimensions,
        options=req.options,
        keep_alive_ns=_keep_alive(req.keep_alive),
    )
    result = await services.embedder.embed(inp, "embed")
    if not inp.inputs:
        return json_response({"model": req.model, "embeddings": []})
    return json_response(
        {
            "model": req.model,
            "embeddings": [float32_values(v) for v in result.embeddings],
            "total_duration": result.total_duration,
            "load_duration": result.load_duration,
            "prompt_eval_count": result.prompt_eval_count,
        }
    )


@post("/api/embeddings", status_code=200)
async def embeddings(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """The legacy endpoint: one ``prompt``, a vector that is not normalized, no metrics."""
    req = decode_body(await request.body(), EmbeddingRequest, "EmbeddingRequest")
    inp = EmbedInput(
        model=req.model,
        inputs=[req.prompt] if req.prompt else [],
        normalize=False,
        options=req.options,
        keep_alive_ns=_keep_alive(req.keep_alive),
        model_required=True,
    )
    result = await services.embedder.embed(inp, "embeddings")
    vectors = result.embeddings
    values: list[float] = vectors[0].astype(np.float64).tolist() if vectors else []
    return json_response({"embedding": values})


HANDLERS: list[HTTPRouteHandler] = [embed, embeddings]
