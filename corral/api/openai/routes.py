"""OpenAI-compatible routes (/v1/*): an adapter over the same core as the Ollama API."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from corral.api.openai import models, serving
from corral.api.openai.embeddings import HANDLERS as EMBEDDING_HANDLERS

__all__ = ["HANDLERS"]

HANDLERS: list[HTTPRouteHandler] = [*serving.HANDLERS, *models.HANDLERS, *EMBEDDING_HANDLERS]
