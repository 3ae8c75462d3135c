"""Per-request observation: request ids, one access-log line, the HTTP event, in-flight tracking.

:class:`ObserveMiddleware` wraps every route. It honours an incoming ``X-Request-ID`` (or makes
one) and returns it, exposes it to the core through :data:`corral.core.events.CURRENT_REQUEST`,
emits :class:`~corral.core.events.HttpRequestFinished` and logs one line per request on the
``corral.access`` logger::

    request method=POST path=/api/generate status=200 model=tiny:latest duration_ms=41.2
    prompt_tokens=12 eval_tokens=30 request_id=5f0c...

Prompt text is never logged, except the request body at DEBUG level when ``debug`` is on.
While :class:`Traffic` is draining (graceful shutdown) new requests get 503, except the
operational endpoints.

Litestar applies app ``middleware`` per route, so requests that match no route (404, 405) never
reach a route-level instance. :func:`observe_all_requests` wraps the app's whole ASGI handler
(inside Litestar's send wrapper, around its exception handling, CORS and routing) so those get
the same id, log line, event and drain refusal. An instance seeing a request that an outer one
already observes passes it through, so the two can be stacked.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, ReceiveMessage, Scope, Send

from corral.core.events import CURRENT_REQUEST, Event, HttpRequestFinished, RequestContext

__all__ = ["OPS_PATHS", "ObserveMiddleware", "Traffic", "format_access_line", "observe_all_requests"]

log = logging.getLogger("corral.access")

OPS_PATHS = frozenset({"/health", "/ready", "/metrics"})
"""Endpoints served during a drain and not counted as in-flight work."""

_ID_OK = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")
_MODEL_PEEK_LIMIT = 1 << 20
_DEBUG_BODY_CHARS = 4000
_OBSERVED = "corral.observed"


class Traffic:
    """In-flight request count and the draining flag shared by the middleware, ops and the server."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.draining = False

    def start_draining(self) -> None:
        """Refuse new work (503) and report not-ready; in-flight requests continue."""
        self.draining = True


class _ModelField(msgspec.Struct):
    model: str | None = None
    name: str | None = None


def _request_model(body: bytes) -> str:
    """The ``model`` (or ``name``) a JSON request body names, or ``""``."""
    try:
        fields = msgspec.json.decode(body, type=_ModelField)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    return fields.model or fields.name or ""


def format_access_line(
    *,
    method: str,
    path: str,
    status: int,
    model: str,
    duration_s: float,
    prompt_tokens: int,
    eval_tokens: int,
    request_id: str,
) -> str:
    """The access-log line: ``request`` followed by ``key=value`` pairs (logfmt)."""
    return (
        f"request method={method} path={_quote(path)} status={status} model={_quote(model)} "
        f"duration_ms={duration_s * 1000:.1f} prompt_tokens={prompt_tokens} eval_tokens={eval_tokens} "
        f"request_id={_quote(request_id)}"
    )


def _quote(value: str) -> str:
    if value and not any(c in value for c in ' "=\\') and value.isprintable():
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ObserveMiddleware:
    """ASGI middleware: request id, access log, :class:`HttpRequestFinished`, drain refusal."""

    def __init__(
        self, app: ASGIApp, *, emit: Callable[[Event], None], traffic: Traffic, debug: bool = False
    ) -> None:
        self.app = app
        self.emit = emit
        self.traffic = traffic
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or _OBSERVED in scope:
            await self.app(scope, receive, send)
            return
        cast(dict[str, Any], scope)[_OBSERVED] = True
        http: HTTPScope = scope
        start = time.perf_counter()
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        ctx = RequestContext(request_id)
        token = CURRENT_REQUEST.set(ctx)
        path = scope["path"]
        ops = path in OPS_PATHS
        status = 500
        body = bytearray()
        header = (b"x-request-id", request_id.encode())

        async def peek_receive() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _MODEL_PEEK_LIMIT:
                body.extend(message.get("body", b""))
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        if not ops:
            self.traffic.in_flight += 1
        try:
            if self.traffic.draining and not ops:
                await _refuse(send_with_id)
            else:
                await self.app(scope, peek_receive, send_with_id)
        except BaseException:
            status = 499 if status == 500 else status
            raise
        finally:
            if not ops:
                self.traffic.in_flight -= 1
            CURRENT_REQUEST.reset(token)
            self._finish(http, ctx, status, time.perf_counter() - start, bytes(body))

    def _finish(self, scope: HTTPScope, ctx: RequestContext, status: int, took: float, body: bytes) -> None:
        if not ctx.model and body and len(body) < _MODEL_PEEK_LIMIT:
            ctx.model = _request_model(body)
        endpoint = scope.get("path_template") or "other"
        self.emit(
            HttpRequestFinished(
                ctx.request_id,
                scope["method"],
                endpoint,
                ctx.model,
                status,
                took,
                prompt_tokens=ctx.prompt_tokens,
                eval_tokens=ctx.eval_tokens,
            )
        )
        if scope["path"] in OPS_PATHS and status < 400:
            return  # scrapes and probes every few seconds would drown the log
        line = format_access_line(
            method=scope["method"],
            path=scope["path"],
            status=status,
            model=ctx.model,
            duration_s=took,
            prompt_tokens=ctx.prompt_tokens,
            eval_tokens=ctx.eval_tokens,
            request_id=ctx.request_id,
        )
        log.info(line)
        if self.debug and body:
            text = body[:_DEBUG_BODY_CHARS].decode("utf-8", "replace")
            log.debug("request body request_id=%s body=%s", ctx.request_id, text)


def observe_all_requests(
    app: Litestar, *, emit: Callable[[Event], None], traffic: Traffic, debug: bool = False
) -> None:
    """Put :class:`ObserveMiddleware` around ``app``'s whole ASGI handler, unmatched routes included."""
    app.asgi_handler = ObserveMiddleware(app.asgi_handler, emit=emit, traffic=traffic, debug=debug)


def _incoming_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _ID_OK.match(text) else ""
    return ""


async def _refuse(send: Send) -> None:
    payload = b'{"error":"server is shutting down"}'
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})
