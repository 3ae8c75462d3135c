"""What the inference use cases (generate/chat and embed) share: their dependencies, option and
keep-alive resolution, and the status a failed request is reported with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corral.core.config import Config
from corral.core.errors import CorralError
from corral.core.events import Event
from corral.core.inference.prepare import ModelContext
from corral.core.options import ResolvedOptions, resolve_options
from corral.core.scheduler import Scheduler
from corral.core.store import Store

__all__ = ["UseCase", "failed_status"]


class UseCase:
    """Base of the use cases over the store and the scheduler; ``emit`` receives lifecycle events."""

    def __init__(
        self,
        config: Config,
        store: Store,
        scheduler: Scheduler,
        emit: Callable[[Event], None] = lambda e: None,
    ) -> None:
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.emit = emit

    def _options(
        self, model: ModelContext, options: dict[str, Any] | None, *, embedding: bool = False
    ) -> ResolvedOptions:
        return resolve_options(
            model.local.params,
            options,
            default_num_ctx=self.config.context_length,
            default_num_parallel=self.config.num_parallel,
            embedding=embedding,
        )

    def _keep_alive(self, value: int | None) -> int:
        return self.config.keep_alive_ns if value is None else value


def failed_status(exc: BaseException) -> int:
    """The status of a request that raised ``exc``: a :class:`CorralError`'s own, else 499 (the
    client went away or the work was cancelled)."""
    return exc.status if isinstance(exc, CorralError) else 499
