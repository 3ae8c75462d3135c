"""The model-source contract: where ``pull`` finds a model that is not in the store yet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from corral.core.names import ModelName
    from corral.core.store import Store

__all__ = ["ModelSource", "Progress", "ProgressCallback"]


@dataclass(frozen=True)
class Progress:
    """One progress line, shaped like Ollama's pull/push/create status objects."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


ProgressCallback = Callable[[Progress], None]


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

    def pull(
        self, name: ModelName, store: Store, progress: ProgressCallback, *, insecure: bool = False
    ) -> None:
        """Write the model's blobs and then its manifest into ``store``, reporting ``progress``.

        Raise :class:`corral.core.errors.CorralError` with Ollama's wording on failure
        (e.g. ``pull model manifest: file does not exist``). The manifest is written last, atomically.
        """
