"""The registry as a :class:`~corral.core.sources.ModelSource`: the fallback for every valid name."""

from __future__ import annotations

import dataclasses

from corral.core.names import ModelName
from corral.core.registry.client import RegistryOptions
from corral.core.registry.pull import pull_model
from corral.core.sources import PullContext
from corral.core.store import Store

__all__ = ["RegistrySource"]


class RegistrySource:
    """Pulls from the registry a name points at (``registry.ollama.ai`` by default).

    Priority 0: sources that work offline (models shipped in packages, priority 100) are asked
    first. ``options`` are the defaults for every pull; ``insecure`` and credentials come per pull.
    """

    name = "registry"
    priority = 0

    def __init__(self, options: RegistryOptions | None = None) -> None:
        self.options = options or RegistryOptions()

    def provides(self, name: ModelName) -> bool:
        """Every valid name may exist on its registry; asking is the only way to know."""
        return name.is_valid()

    def pull(self, name: ModelName, store: Store, context: PullContext) -> None:
        """Pull ``name`` from its registry into ``store`` (see :func:`~corral.core.registry.pull_model`)."""
        options = dataclasses.replace(
            self.options,
            insecure=context.insecure or self.options.insecure,
            credentials=context.credentials or self.options.credentials,
            stall_timeout=context.stall_timeout_s or self.options.stall_timeout,
        )
        pull_model(name, store, context.progress, options=options, emit=context.emit, prune=context.prune)
