"""The OCI registry as a model source (registry.ollama.ai and any distribution-API registry)."""

from __future__ import annotations

from collections.abc import Callable

from corral.core.registry import RegistrySource
from corral.core.sources import ModelSource
from corral.plugins import hookimpl

__all__ = ["corral_register_model_sources"]


@hookimpl
def corral_register_model_sources(register: Callable[[ModelSource], None]) -> None:
    """Register the registry source (priority 0, after the offline package source)."""
    register(RegistrySource())
