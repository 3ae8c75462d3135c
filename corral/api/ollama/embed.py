"""/api/embed and the legacy /api/embeddings."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

__all__ = ["HANDLERS"]

HANDLERS: list[HTTPRouteHandler] = []
