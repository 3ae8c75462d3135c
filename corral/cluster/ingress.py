"""The cluster's HTTP entry: corral's own Litestar app, with inference forwarded by model.

:class:`ClusterRouter` sits inside the app's edge checks, in front of its router. A POST to an
inference route is read whole, its ``model`` looked up, and the request handed as it came to that
model's deployment (or the pool deployment); the replica's answer streams back message by
message. Every other request — tags, show, pull, create, copy, delete, the web page — is answered
here, over the store every node shares.

A replica lost before its answer began is retried on another one (nothing reached the client yet);
lost after, the stream ends with the dialect's error frame saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from corral.cluster.forward import ASGIApp
from corral.cluster.routing import (
    error_response,
    is_inference,
    model_key,
    model_of,
    plain_scope,
    stream_error_frame,
)
from corral.core.config import Config
from corral.core.errors import CorralError
from corral.core.store import Store

__all__ = ["REPLICA_LOST", "ClusterRouter", "Ingress"]

log = logging.getLogger("corral.cluster")

REPLICA_LOST = "llama runner process has terminated: the cluster replica serving this request was lost"
"""Ollama's message for a runner that died mid-request, naming the cluster's cause."""

_ATTEMPTS = 3

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (past it the app's own 413 answers)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        parts.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False) or size > limit:
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _is_replica_loss(exc: BaseException) -> bool:
    from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

    return isinstance(exc, ActorDiedError | ActorUnavailableError | RayActorError)


class ClusterRouter:
    """ASGI: inference to the model's deployment handle, everything else to ``app``."""

    def __init__(
        self, app: ASGIApp, routes: dict[str, Any], pool: Any, max_body: int, store: Store | None = None
    ) -> None:
        self.app = app
        self.store = store
        self.routes = {model_key(name): handle for name, handle in routes.items()}
        self.pool = pool
        self.max_body = max_body

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_inference(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, self.max_body)
        model = model_of(body) if len(body) <= self.max_body else None
        if model is None:  # not JSON, no model, or too large: the app's own error answers
            await self.app(scope, _replay(body, receive), send)
            return
        handle = self.routes.get(model_key(model))
        if handle is None:
            if not await self._stored(model):  # the app's own 404 (or 400): no pool replica woken
                await self.app(scope, _replay(body, receive), send)
                return
            handle = self.pool
        await self._forward(handle, dict(scope), body, send)

    async def _stored(self, model: str) -> bool:
        if self.store is None:
            return True
        try:
            manifest = await asyncio.to_thread(self.store.get_manifest, model)
        except CorralError:
            return False
        return manifest is not None

    async def _forward(self, handle: Any, scope: dict[str, Any], body: bytes, send: Send) -> None:
        path = scope["path"]
        for attempt in range(1, _ATTEMPTS + 1):
            started = False
            content_type = ""
            stream = handle.options(stream=True).handle_http.remote(plain_scope(scope), body)
            try:
                async for message in stream:
                    if message["type"] == "http.response.start":
                        started = True
                        headers = dict(message.get("headers", []))
                        content_type = bytes(headers.get(b"content-type", b"")).decode()
                    await send(message)
                return
            except asyncio.CancelledError:
                stream.cancel()  # the client left: the replica's app sees the disconnect
                raise
            except Exception as exc:
                lost = _is_replica_loss(exc)
                if lost and not started and attempt < _ATTEMPTS:
                    log.warning("replica lost before answering %s (attempt %d): retrying", path, attempt)
                    await asyncio.sleep(0.5 * attempt)
                    continue
                message_text = REPLICA_LOST if lost else f"internal error: {type(exc).__name__}"
                log.warning("%s on %s: %s", message_text, path, exc)
                if not started:
                    for reply in error_response(path, message_text, 500):
                        await send(reply)
                else:
                    frame = stream_error_frame(path, content_type, message_text)
                    await send({"type": "http.response.body", "body": frame, "more_body": False})
                return


class Ingress:
    """The ingress deployment's class (wrapped by ``serve.ingress()`` and ``serve.deployment``)."""

    def __init__(self, config: Config, routes: dict[str, Any], pool: Any, stats: Any) -> None:
        self.config = config
        self.routes = routes
        self.pool = pool
        self.stats = stats

    def __serve_build_asgi_app__(self) -> ASGIApp:
        """Ray Serve calls this on the replica: the app is built there, never pickled."""
        from corral.api.app import create_app
        from corral.cluster.routes import cluster_handlers
        from corral.core.services import build_services

        services = build_services(self.config)

        def route(inner: ASGIApp) -> ClusterRouter:
            return ClusterRouter(inner, self.routes, self.pool, self.config.max_request_size, services.store)

        # The router goes inside the app's edge checks: Host, Origin and API keys are refused here,
        # before a request can wake a replica, and every request is logged and counted.
        return create_app(
            services, extra_handlers=cluster_handlers(services, self.stats), route_requests=route
        )
