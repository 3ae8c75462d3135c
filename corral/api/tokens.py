"""The tokenizer use case as the API adapters reach it (one place builds it from the services)."""

from __future__ import annotations

from corral.core.services import Services
from corral.core.tokenizing import Tokenizing

__all__ = ["tokenizing"]


def tokenizing(services: Services) -> Tokenizing:
    """The tokenizer use case over ``services`` (its vocabulary cache is shared by all instances)."""
    return Tokenizing(services.config, services.store, services.scheduler, emit=services.plugins.emit)
