"""API keys and their roles: which key may call which route.

Keys come from ``CORRAL_API_KEYS`` (``key1:admin,key2``) and ``CORRAL_API_KEYS_FILE`` (one
``key[:role]`` a line, ``#`` comments), the file re-read when it changes. A key is sent as
``Authorization: Bearer KEY`` (OpenAI SDKs, ollama-python ``headers=``) or ``x-api-key: KEY``
(Anthropic SDKs). Only SHA-256 digests of keys are kept in memory, and nothing here logs a key.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from corral.core.config import Config

__all__ = [
    "AUTH_OPEN_PATHS",
    "ApiKeys",
    "Role",
    "bind_refusal",
    "parse_keys",
    "presented_key",
    "required_role",
    "serve_refusal",
]

log = logging.getLogger("corral.auth")


class Role(enum.IntEnum):
    """What a key may do; a higher role includes the lower ones."""

    INFERENCE = 1
    """generate, chat, embed, /v1/*, tags, show, ps, version."""
    ADMIN = 2
    """Also pull, push, create, copy, delete and blobs."""


AUTH_OPEN_PATHS = frozenset({"/", "/health", "/ready"})
"""Answered without a key: liveness texts that reveal nothing."""

_ADMIN_PATHS = frozenset({"/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete"})
_ROLE_NAMES = {"inference": Role.INFERENCE, "admin": Role.ADMIN}
_RELOAD_EVERY_S = 1.0


def required_role(method: str, path: str, *, metrics_public: bool) -> Role | None:
    """The role a request needs, or None when it needs no key.

    CORS preflights (``OPTIONS``) never carry credentials, so they pass; they reach no handler.
    The web page's static files (``/ui``) hold no data: the page sends the key with its API calls.
    """
    if method == "OPTIONS" or path in AUTH_OPEN_PATHS or path == "/ui" or path.startswith("/ui/"):
        return None
    if path == "/metrics" and metrics_public:
        return None
    if path in _ADMIN_PATHS or path.startswith("/api/blobs/"):
        return Role.ADMIN
    return Role.INFERENCE


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_keys(lines: Iterable[str], source: str) -> dict[bytes, Role]:
    """``key[:role]`` entries → {sha256(key): role}; bad entries are logged (by position, never by key)."""
    keys: dict[bytes, Role] = {}
    for number, raw in enumerate(lines, 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        key, sep, role_name = entry.rpartition(":")
        if not sep:
            key, role_name = entry, "inference"
        role = _ROLE_NAMES.get(role_name.strip().lower())
        if role is None or not key.strip():
            log.warning(
                "%s entry %d ignored: expected key or key:role with role inference or admin", source, number
            )
            continue
        digest = _digest(key.strip())
        keys[digest] = max(role, keys.get(digest, role))
    return keys


class ApiKeys:
    """The configured keys; :meth:`role_of` answers the role of a presented key (file changes included)."""

    def __init__(self, inline: str = "", path: Path | None = None) -> None:
        self._inline = parse_keys(inline.split(","), "CORRAL_API_KEYS")
        self._path = path
        self._file: dict[bytes, Role] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self.enabled = bool(inline.strip()) or path is not None
        """Whether requests need a key at all (a configured but empty file still means yes)."""
        if path is not None:
            self._reload(time.monotonic())

    def _reload(self, now: float) -> None:
        self._checked = now
        assert self._path is not None
        try:
            st = os.stat(self._path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return
            text = self._path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            # Keep the keys we had: a file being replaced must not lock everyone out or let everyone in.
            log.warning(
                "API key file unreadable (%s); keeping %d key(s)", type(exc).__name__, len(self._file)
            )
            return
        self._file = parse_keys(text.splitlines(), "CORRAL_API_KEYS_FILE")
        self._stamp = stamp
        log.info("API key file loaded: %d key(s)", len(self._file))

    def role_of(self, key: str) -> Role | None:
        """The role of ``key``, or None for an unknown key."""
        if self._path is not None:
            now = time.monotonic()
            if now - self._checked >= _RELOAD_EVERY_S:
                self._reload(now)
        digest = _digest(key)
        roles = [r for r in (self._inline.get(digest), self._file.get(digest)) if r is not None]
        return max(roles) if roles else None


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries in ``Authorization: Bearer`` or ``x-api-key``, or None."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and value.strip():
            return value.decode("latin-1").strip()
    return None


def serve_refusal(config: Config) -> str | None:
    """:func:`bind_refusal` for a server configured by ``config`` (``corral serve``, and ``corral
    cluster serve``: the cluster is a server too)."""
    return bind_refusal(
        host=config.host.host,
        port=config.host.port,
        loopback=config.host.is_loopback,
        keys=bool(config.api_keys) or config.api_keys_file is not None,
        allow_unauthenticated=config.allow_unauthenticated,
    )


def bind_refusal(
    *, host: str, port: int, loopback: bool, keys: bool, allow_unauthenticated: bool
) -> str | None:
    """Why ``corral serve`` must not start (beyond loopback with no key and no opt-out), or None."""
    if loopback or keys or allow_unauthenticated:
        return None
    return (
        f"refusing to listen on {host or '0.0.0.0'}:{port} without API keys: anyone who can reach the port "
        "could run, pull, push and delete models. Either set CORRAL_API_KEYS (or CORRAL_API_KEYS_FILE) "
        "and send the key as 'Authorization: Bearer KEY', or set CORRAL_ALLOW_UNAUTHENTICATED=true to "
        "serve without keys (Ollama's behaviour), or listen on 127.0.0.1."
    )
