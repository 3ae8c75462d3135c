"""DNS-rebinding defence (Host-header allow-list on loopback) and the CORS origin policy."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any

from litestar.config.cors import CORSConfig
from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ["HostCheckMiddleware", "cors_config", "host_allowed"]

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")


def _local_addresses() -> set[str]:
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]))
    except OSError:
        pass
    return found


def host_allowed(host_header: str, *, local_addresses: Iterable[str] = ()) -> bool:
    """Whether a request's ``Host`` may reach a server bound to loopback (Ollama's rules).

    Allowed: empty, ``localhost``, the machine's hostname, ``*.localhost``/``*.local``/``*.internal``,
    and IP literals that are loopback, private, unspecified or the machine's own.
    """
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in ("", "localhost") or host == socket.gethostname().lower():
        return True
    if host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_unspecified or host in set(local_addresses)


class HostCheckMiddleware:
    """Refuse (403) HTTP requests whose Host header is not local, when the server listens on loopback."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled
        self._local = _local_addresses() if enabled else set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or str(scope["type"]) != "http":
            await self.app(scope, receive, send)
            return
        host = ""
        for key, value in scope.get("headers", []):
            if key == b"host":
                host = value.decode("latin-1")
                break
        if not host_allowed(host, local_addresses=self._local):
            await _plain(send, 403, b"")
            return
        if scope.get("method") == "OPTIONS" and not _has_header(scope, b"access-control-request-method"):
            await _plain(send, 204, b"")
            return
        await self.app(scope, receive, send)


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(k == name for k, _ in scope.get("headers", []))


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers: list[tuple[bytes, bytes]] = [(b"content-length", str(len(body)).encode())]
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    end: Any = {"type": "http.response.body", "body": body}
    await send(start)
    await send(end)


_DEFAULT_ORIGINS = (
    "http://localhost",
    "https://localhost",
    "http://localhost:*",
    "https://localhost:*",
    "http://127.0.0.1",
    "https://127.0.0.1",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
    "http://0.0.0.0",
    "https://0.0.0.0",
    "http://0.0.0.0:*",
    "https://0.0.0.0:*",
    "app://*",
    "file://*",
    "tauri://*",
    "vscode-webview://*",
    "vscode-file://*",
)

_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "User-Agent",
    "Accept",
    "X-Requested-With",
    "OpenAI-Beta",
    "x-stainless-arch",
    "x-stainless-async",
    "x-stainless-custom-poll-interval",
    "x-stainless-helper-method",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-poll-helper",
    "x-stainless-retry-count",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-timeout",
    "X-Request-ID",
    # Anthropic's SDKs (browser use needs the last one) and their key header.
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
]


def _origin_pattern(origin: str) -> str:
    return "".join(".*" if ch == "*" else re.escape(ch) for ch in origin)


def cors_config(extra_origins: Iterable[str]) -> CORSConfig:
    """CORS: Ollama's always-allowed local and app origins plus the configured ones (``*`` wildcards)."""
    origins = [*_DEFAULT_ORIGINS, *extra_origins]
    if "*" in origins:
        return CORSConfig(
            allow_origins=["*"],
            allow_headers=_ALLOW_HEADERS,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        )
    regex = "^(" + "|".join(_origin_pattern(o) for o in origins) + ")$"
    return CORSConfig(
        allow_origins=[],
        allow_origin_regex=regex,
        allow_headers=_ALLOW_HEADERS,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    )
