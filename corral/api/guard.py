"""The edge guard: refuses a request before any handler runs when its Host, Origin or key is wrong.

Checks, in order (each answered in the dialect's error shape, by path):

1. ``Host`` not local while listening on loopback → 403 (DNS rebinding, Ollama's rule);
   a plain ``OPTIONS`` with a local host → 204, as Ollama.
2. ``Origin`` present and not allowed (Ollama's list + ``CORRAL_ORIGINS``, or same-origin) → 403.
3. A cross-origin write whose ``Content-Type`` a browser sends without a CORS preflight
   (``text/plain``, form encodings, none) → 415, even from an allowed origin: no client of this API
   sends those cross-origin, and a ``no-cors`` drive-by can send nothing else.
4. API keys configured and the route needs a role: no key → 401, unknown key → 401, too small a
   role → 403.

It wraps the app's whole ASGI handler (:func:`install_guard`), so unmatched routes are covered too.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Receive, Scope, Send

from corral.api.auth import ApiKeys, Role, presented_key, required_role
from corral.api.errors import dialect_error
from corral.api.hosts import host_allowed, local_addresses
from corral.api.origins import OriginPolicy

__all__ = ["EdgeGuard", "install_guard"]

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NO_PREFLIGHT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")


class EdgeGuard:
    """ASGI wrapper applying the Host, Origin, Content-Type and API-key checks (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host_check: bool,
        origins: OriginPolicy,
        keys: ApiKeys,
        metrics_public: bool = False,
    ) -> None:
        self.app = app
        self.host_check = host_check
        self.origins = origins
        self.keys = keys
        self.metrics_public = metrics_public
        self._local = local_addresses() if host_check else set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._check(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message, extra = refusal
        if message is None:
            await _respond(send, status, b"", b"text/plain", extra)
            return
        body, media_type = dialect_error(scope["path"], message, status)
        await _respond(send, status, body, media_type.encode(), extra)

    def _check(self, scope: Scope) -> tuple[int, str | None, list[tuple[bytes, bytes]]] | None:
        headers: dict[bytes, str] = {}
        for name, value in scope.get("headers", []):
            if name in (b"host", b"origin", b"content-type", b"access-control-request-method"):
                headers.setdefault(name, value.decode("latin-1"))
        method = str(scope.get("method", "GET"))
        path = str(scope["path"])
        host = headers.get(b"host", "")
        if self.host_check:
            if not host_allowed(host, local_addresses=self._local):
                return 403, None, []
            if method == "OPTIONS" and b"access-control-request-method" not in headers:
                return 204, None, []
        origin = headers.get(b"origin")
        if origin is not None:
            if not self.origins.allows(origin, host):
                return 403, f"origin {origin!r} is not allowed (set CORRAL_ORIGINS to allow it)", []
            if method in _WRITE_METHODS and not _same_origin(origin, host):
                ctype = headers.get(b"content-type", "").split(";")[0].strip().lower()
                if not ctype or ctype in _NO_PREFLIGHT_TYPES:
                    return 415, "cross-origin requests must send Content-Type: application/json", []
        role = required_role(method, path, metrics_public=self.metrics_public)
        if role is None or not self.keys.enabled:
            return None
        key = presented_key(scope.get("headers", []))
        challenge = [(b"www-authenticate", b'Bearer realm="corral"')]
        if key is None:
            return 401, "missing API key: send 'Authorization: Bearer KEY'", challenge
        granted = self.keys.role_of(key)
        if granted is None:
            return 401, "invalid API key", challenge
        if granted < role:
            return 403, f"this API key may not call {path} (needs the {_role_name(role)} role)", []
        return None


def _role_name(role: Role) -> str:
    return role.name.lower()


def _same_origin(origin: str, host: str) -> bool:
    return bool(host) and origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower())


async def _respond(
    send: Send, status: int, body: bytes, media_type: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-length", str(len(body)).encode()), *extra]
    if body:
        headers.append((b"content-type", media_type))
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    end: Any = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


def install_guard(
    app: Litestar, *, host_check: bool, origins: OriginPolicy, keys: ApiKeys, metrics_public: bool
) -> None:
    """Wrap ``app``'s whole ASGI handler in an :class:`EdgeGuard` (unmatched routes included)."""
    app.asgi_handler = EdgeGuard(
        app.asgi_handler, host_check=host_check, origins=origins, keys=keys, metrics_public=metrics_public
    )
