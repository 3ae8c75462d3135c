"""DNS-rebinding defence (the Host-header allow-list on loopback) and the CORS response headers."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Literal

from litestar.config.cors import CORSConfig
from litestar.types import Method

from corral.api.origins import origin_regex

__all__ = ["cors_config", "host_allowed", "local_addresses"]

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")


def local_addresses() -> set[str]:
    """The machine's own addresses (those its hostname resolves to)."""
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


def cors_config(extra_origins: Iterable[str]) -> CORSConfig:
    """CORS headers for the allowed origins (:mod:`corral.api.origins`); refusal is the guard's job."""
    methods: list[Method | Literal["*"]] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    regex = origin_regex(extra_origins)
    if regex is None:
        return CORSConfig(allow_origins=["*"], allow_headers=_ALLOW_HEADERS, allow_methods=methods)
    return CORSConfig(
        allow_origins=[], allow_origin_regex=regex, allow_headers=_ALLOW_HEADERS, allow_methods=methods
    )
