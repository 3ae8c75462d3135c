"""What the scheduler holds: loaded models, models being loaded, and requests' leases on them."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from corral.core.backend_choice import Choice
from corral.core.engine import LoadParams, ModelSpec, Runner
from corral.core.store import LocalModel
from corral.core.worker import LoadWatch

__all__ = ["Lease", "Loaded", "Loading"]

log = logging.getLogger("corral.scheduler")


@dataclass
class Loaded:
    """One loaded model."""

    key: str
    """The model blob digest plus adapters: two names of one model share a runner."""
    local: LocalModel
    spec: ModelSpec
    choice: Choice
    runner: Runner
    load_key: tuple[Any, ...]
    load_params: LoadParams
    slots: asyncio.Semaphore
    load_duration_ns: int
    num_slots: int = 1
    """Generations the runner serves at once."""
    in_use: int = 0
    """Slots held by requests right now."""
    waiting: int = 0
    """Requests waiting for a slot of this model."""
    active: int = 0
    keep_alive_ns: int = 0
    expires_at_ns: int = 0
    last_used: float = field(default_factory=time.monotonic)
    closing: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class Loading:
    """A model whose runner is being loaded right now."""

    local: LocalModel
    spec: ModelSpec
    choice: Choice
    load_params: LoadParams
    started: float
    """``time.monotonic()`` when the load began."""
    watch: LoadWatch = field(default_factory=LoadWatch)

    @property
    def seconds(self) -> float:
        """Time spent loading so far."""
        return time.monotonic() - self.started

    def progress(self) -> float | None:
        """The backend's ``load_progress`` (an optional method; a worker process reports it) clamped
        to 0..1; None when unknown."""
        reported = self.watch.progress()
        if reported is not None:
            return min(1.0, max(0.0, reported))
        report = getattr(self.choice.backend, "load_progress", None)
        if report is None:
            return None
        try:
            value = report(self.spec)
        except Exception as exc:  # a status display must not fail because of a plugin's bug
            log.warning("backend %s load_progress failed: %s", self.choice.backend.name, exc)
            return None
        return None if value is None else min(1.0, max(0.0, float(value)))


@dataclass
class Lease:
    """A request's hold on a runner; ``load_duration_ns`` is 0 when the model was already loaded."""

    loaded: Loaded
    load_duration_ns: int

    @property
    def runner(self) -> Runner:
        return self.loaded.runner
