"""GET /v1/models and /v1/models/{model}: the local models as OpenAI model objects."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from corral.api.errors import json_response
from corral.core.errors import ModelNotFound
from corral.core.names import ModelName, parse_name
from corral.core.services import Services

__all__ = ["HANDLERS", "model_object"]

Svc = NamedDependency[Services]


def model_object(model_id: str, name: ModelName, modified_ns: int) -> dict[str, Any]:
    """``{"id", "object": "model", "created", "owned_by"}``; the owner is the name's namespace
    (``library`` for official models, ``user`` for ``user/model``)."""
    return {
        "id": model_id,
        "object": "model",
        "created": modified_ns // 1_000_000_000,
        "owned_by": name.namespace,
    }


@get("/models")
async def list_models(services: Svc) -> Response[bytes]:
    """Every local model, newest first. No models → ``data: null``, as Ollama answers."""
    items = await to_thread.run_sync(services.store.list_models)
    data = [model_object(i.name.display_shortest(), i.name, i.modified_ns) for i in items]
    return json_response({"object": "list", "data": data or None})


@get("/models/{model:path}")
async def retrieve_model(model: FromPath[str], services: Svc) -> Response[bytes]:
    """One model; the id echoes the path verbatim. Missing → 404 ``model 'x:latest' not found``."""
    model_id = model.lstrip("/")
    parsed = parse_name(model_id)
    if not parsed.is_valid():
        raise ModelNotFound(f"model '{parsed.display_shortest()}' not found")
    local = await to_thread.run_sync(services.store.resolve, parsed)
    return json_response(model_object(model_id, local.name, local.modified_ns))


HANDLERS: list[Any] = [list_models, retrieve_model]
