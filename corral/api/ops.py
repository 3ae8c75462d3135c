"""Operational endpoints: health, readiness and Prometheus metrics."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

__all__ = ["HANDLERS"]

HANDLERS: list[HTTPRouteHandler] = []
