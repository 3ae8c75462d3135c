"""Serving the web page: ``/ui`` (the HTML) and ``/ui/<file>`` (its scripts, styles and icon).

Only the files found in ``static/`` at start-up are served, looked up by exact name, so a request path
never reaches the file system. Every answer carries a Content-Security-Policy that allows scripts,
styles and connections from this origin alone and no inline code, so model output that slipped into
the page as markup still could not run.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from litestar import Response, route
from litestar.params import FromPath

__all__ = ["CONTENT_SECURITY_POLICY", "HANDLERS", "asset_names"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""No inline scripts or styles, no eval, nothing from another origin, never framed."""

_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Served from the installed package: revalidate so an upgrade shows up without a hard reload.
    "Cache-Control": "no-cache",
}

# Litestar adds "; charset=utf-8" to text/* types itself.
_MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}

_INDEX = "index.html"


@cache
def _assets() -> dict[str, tuple[bytes, str]]:
    """Name → (bytes, media type) of every servable file in ``static/`` (read once)."""
    found: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _MEDIA_TYPES:
            found[entry.name] = (entry.read_bytes(), _MEDIA_TYPES[suffix])
    return found


def asset_names() -> list[str]:
    """The file names ``/ui/<name>`` serves (the page's HTML included)."""
    return sorted(_assets())


def _file(name: str) -> Response[bytes]:
    asset = _assets().get(name)
    if asset is None:
        return Response(
            b"404 page not found", status_code=404, media_type="text/plain", headers=_SECURITY_HEADERS
        )
    body, media_type = asset
    return Response(body, media_type=media_type, headers=_SECURITY_HEADERS)


@route(["/ui", "/ui/"], http_method=["GET", "HEAD"], include_in_schema=False, sync_to_thread=False)
def page() -> Response[bytes]:
    """The web page."""
    return _file(_INDEX)


@route("/ui/{name:str}", http_method=["GET", "HEAD"], include_in_schema=False, sync_to_thread=False)
def asset(name: FromPath[str]) -> Response[bytes]:
    """One of the page's files, by exact name; 404 for anything else."""
    return _file(name)


HANDLERS: list[Any] = [page, asset]
