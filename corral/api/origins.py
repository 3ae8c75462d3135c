"""Which browser origins may call the API: Ollama's built-in allow-list plus ``CORRAL_ORIGINS``.

One owner for the list, used by both the refusal (:mod:`corral.api.guard`, 403 before any handler)
and the CORS headers (:func:`corral.api.hosts.cors_config`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DEFAULT_ORIGINS", "OriginPolicy", "origin_regex"]

DEFAULT_ORIGINS: tuple[str, ...] = (
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
"""Always allowed, as in Ollama (``envconfig.AllowedOrigins``)."""


def _pattern(origin: str) -> str:
    return "".join(".*" if ch == "*" else re.escape(ch) for ch in origin)


def origin_regex(extra: Iterable[str]) -> str | None:
    """An anchored regular expression over the default and ``extra`` origins; None when ``*`` is one."""
    origins = [*DEFAULT_ORIGINS, *extra]
    if "*" in origins:
        return None
    return "^(" + "|".join(_pattern(o) for o in origins) + ")$"


class OriginPolicy:
    """Decides whether a request's ``Origin`` header is allowed."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        regex = origin_regex(extra)
        self._match = re.compile(regex, re.IGNORECASE).match if regex is not None else None

    def allows(self, origin: str, host: str) -> bool:
        """True for allowed origins and for same-origin requests (``Origin`` equal to ``http(s)://Host``).

        The same-origin rule is gin-contrib/cors's, which Ollama uses: a page served by this server
        (``/ui``) may call it from whatever address the server is reached at. ``null`` (sandboxed
        frames, some redirects) is never allowed unless ``*`` is configured.
        """
        if self._match is None:
            return True
        if host and origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower()):
            return True
        return self._match(origin) is not None
