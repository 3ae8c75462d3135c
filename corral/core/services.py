"""The server's long-lived objects (config, store, plugins), built once and shared by the API."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from corral.core.backend_choice import backend_status, check_override
from corral.core.catalog import Catalog
from corral.core.config import Config
from corral.core.engine import HostInfo
from corral.core.errors import CorralError
from corral.core.host import detect_host
from corral.core.inference import Inference
from corral.core.inference.embed import Embedder
from corral.core.scheduler import Scheduler
from corral.core.store import Store
from corral.core.worker import Launcher
from corral.plugins.manager import Plugins, build_plugins
from corral.plugins.origins import backend_origins

__all__ = ["Services", "detect_host"]

log = logging.getLogger("corral")

_SWEEP_EVERY_S = 3600.0


@dataclass
class Services:
    """Everything a request handler may need. ``start``/``stop`` run at server startup/shutdown."""

    config: Config
    store: Store
    plugins: Plugins
    host: HostInfo = field(default_factory=detect_host)
    catalog: Catalog = field(init=False)
    scheduler: Scheduler = field(init=False)
    inference: Inference = field(init=False)
    embedder: Embedder = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = Catalog(
            self.store,
            self.plugins.sources,
            noprune=self.config.noprune,
            emit=self.plugins.emit,
            quantizers=list(self.plugins.backends.values()),
            max_transfers=self.config.max_pulls,
            stall_timeout_s=self.config.pull_stall_timeout_s,
        )
        launcher = Launcher(
            self.config.engine, backend_origins(self.plugins.pm), max(0, self.config.load_timeout_ns) / 1e9
        )
        self.scheduler = Scheduler(
            self.config, self.plugins.backends, self.host, emit=self.plugins.emit, launcher=launcher
        )
        self.inference = Inference(self.config, self.store, self.scheduler, emit=self.plugins.emit)
        self.embedder = Embedder(self.config, self.store, self.scheduler, emit=self.plugins.emit)

    def check_backends(self) -> None:
        """Say at start-up which backends cannot run here and what to install; refuse a
        ``CORRAL_BACKEND`` that names a missing or unavailable backend (raises CorralError)."""
        for backend in self.plugins.backends.values():
            status = backend_status(backend, self.host)
            if not status.available:
                log.info("backend %s unavailable: %s", backend.name, status.reason)
        if self.config.backend:
            try:
                check_override(self.config.backend, self.plugins.backends, self.host)
            except CorralError as exc:
                raise CorralError(f"CORRAL_BACKEND={self.config.backend}: {exc.message}") from None

    def start(self) -> None:
        """Prepare the store (create folders; prune unreferenced blobs unless NOPRUNE; sweep stale
        partial files now and every hour)."""
        self.store.ensure_dirs()
        if not self.config.noprune:
            removed = self.store.prune_unreferenced()
            if removed:
                log.info("removed %d unused blobs", removed)
        self._sweep()

    def _sweep(self) -> None:
        removed = self.store.sweep_stale(self.config.partial_max_age_s)
        if removed:
            log.info("removed %d stale partial files", removed)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving: nothing to repeat on

        def again() -> None:
            # The sweep lists a directory and unlinks: a worker thread, not the event loop.
            loop.run_in_executor(None, self.store.sweep_stale, self.config.partial_max_age_s)
            loop.call_later(_SWEEP_EVERY_S, again)

        loop.call_later(_SWEEP_EVERY_S, again)

    async def stop(self) -> None:
        """Unload every model."""
        await self.scheduler.shutdown()


def build_services(config: Config, *, plugins: Plugins | None = None) -> Services:
    """Create the services for ``config``; plugins default to built-ins plus installed entry points."""
    if plugins is None:
        plugins = build_plugins(disabled=config.disabled_plugins)
    return Services(config=config, store=Store(config.models), plugins=plugins)
