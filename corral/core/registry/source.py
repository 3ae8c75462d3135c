"""The registry as a :class:`~corral.core.sources.ModelSource`: the fallback for every valid name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from corral.core.events import Event
from corral.core.names import ModelName
from corral.core.registry.auth import Credentials
from corral.core.registry.client import RegistryOptions
from corral.core.registry.progress import ignore_event
from corral.core.registry.pull import pull_model
from corral.core.sources import ProgressCallback
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

    def pull(
        self,
        name: ModelName,
        store: Store,
        progress: ProgressCallback,
        *,
        insecure: bool = False,
        emit: Callable[[Event], None] = ignore_event,
        prune: bool = True,
        credentials: Credentials | None = None,
        stall_timeout_s: float | None = None,
    ) -> None:
        """Pull ``name`` from its registry into ``store`` (see :func:`~corral.core.registry.pull_model`)."""
        options = dataclasses.replace(
            self.options,
            insecure=insecure or self.options.insecure,
            credentials=credentials or self.options.credentials,
            stall_timeout=stall_timeout_s or self.options.stall_timeout,
        )
        pull_model(name, store, progress, options=options, emit=emit, prune=prune)
