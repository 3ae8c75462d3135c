"""The model-source contract: where ``pull`` finds a model that is not in the store yet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from corral.core.events import Event

if TYPE_CHECKING:
    from corral.core.names import ModelName
    from corral.core.registry.auth import Credentials
    from corral.core.store import Store

__all__ = ["ModelSource", "Progress", "ProgressCallback", "PullContext"]


@dataclass(frozen=True)
class Progress:
    """One progress line, shaped like Ollama's pull/push/create status objects."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


ProgressCallback = Callable[[Progress], None]


def _drop(event: Event) -> None:
    """The default ``emit``: no observer."""


@dataclass(frozen=True)
class PullContext:
    """Everything one pull brings besides the name and the store, the same for every source.

    A source uses what applies to it and ignores the rest (a package source has no use for
    credentials); new fields get defaults, so a source written today keeps working.
    """

    progress: ProgressCallback
    """Report Ollama-shaped status lines (``pulling manifest``, ``pulling <digest>`` with byte
    counts, ``verifying sha256 digest``...). Called from the pulling thread."""
    emit: Callable[[Event], None] = _drop
    """Deliver lifecycle events (e.g. :class:`corral.core.events.DownloadRetried`) to observers."""
    insecure: bool = False
    """The client allowed plain HTTP and unverified TLS (``insecure: true`` / ``--insecure``)."""
    credentials: Credentials | None = None
    """The client's registry credentials, when it sent any."""
    prune: bool = True
    """Remove blobs the previous version of the model used and nothing uses any more."""
    stall_timeout_s: float | None = None
    """Give up on a download that receives nothing for this long (None: the source's default)."""


@runtime_checkable
class ModelSource(Protocol):
    """Something that can put a model into the store: a registry, a Python package, a directory.

    Sources are asked in order of ``priority`` (highest first); the first whose :meth:`provides`
    answers True performs the pull.
    """

    name: str
    priority: int

    def provides(self, name: ModelName) -> bool:
        """Whether this source knows ``name`` (cheap; no download)."""

    def pull(self, name: ModelName, store: Store, context: PullContext) -> None:
        """Write the model's blobs and then its manifest into ``store``, reporting
        ``context.progress``.

        Raise :class:`corral.core.errors.CorralError` with Ollama's wording on failure
        (e.g. ``pull model manifest: file does not exist``). The manifest is written last, atomically.
        """
