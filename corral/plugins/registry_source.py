"""The OCI registry as a model source (registry.ollama.ai and any distribution-API registry)."""

from __future__ import annotations

from collections.abc import Callable

from corral.core.sources import ModelSource
from corral.plugins import hookimpl


@hookimpl
def corral_register_model_sources(register: Callable[[ModelSource], None]) -> None:
    """Nothing registered yet (lands with the registry issue)."""
