"""What a stored model is made of: listing entries and the resolved view the server runs from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from corral.core.errors import CorralError
from corral.core.names import ModelName
from corral.core.store import media
from corral.core.store.manifest import Manifest

__all__ = ["TEXT_LAYER_LIMIT", "LocalModel", "ModelListing", "build_local_model"]

#: Largest template/system/params/messages/license/config blob read into memory.
TEXT_LAYER_LIMIT = 32 << 20


@dataclass(frozen=True)
class ModelListing:
    """One stored model as ``/api/tags`` lists it."""

    name: ModelName  #: the name with its on-disk casing
    manifest: Manifest
    modified_at: datetime  #: manifest file mtime, timezone-aware (local zone)
    modified_ns: int  #: the same mtime in integer nanoseconds since the epoch
    digest: str  #: sha256 hex of the manifest file bytes (no ``sha256:`` prefix)
    size: int  #: config size + layer sizes
    config: dict[str, Any]  #: the decoded config blob (``{}`` when the manifest has none)


@dataclass(frozen=True)
class LocalModel:
    """A stored model resolved into what a runner, ``/api/show`` and the prompt builder need."""

    name: ModelName
    manifest: Manifest
    digest: str  #: sha256 hex of the manifest file bytes
    modified_at: datetime
    modified_ns: int
    size: int
    config: dict[str, Any]
    model_path: Path | None = None  #: the GGUF weights blob (last model layer wins, as in Ollama)
    parent_model: str = ""  #: ``from`` of the model layer
    adapters: list[Path] = field(default_factory=list)
    projectors: list[Path] = field(default_factory=list)
    template: str | None = None  #: from a template layer (or the legacy ``prompt`` layer)
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)  #: [{role, content, ...}]
    license: list[str] = field(default_factory=list)

    @property
    def projector(self) -> Path | None:
        """The first projector blob, or None (most models have at most one)."""
        return self.projectors[0] if self.projectors else None


def _json(data: bytes, kind: type, what: str) -> Any:
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise CorralError(f"invalid {what} layer: {exc}") from None
    if not isinstance(value, kind):
        raise CorralError(f"invalid {what} layer: expected a JSON {kind.__name__}")
    return value


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def build_local_model(
    info: ModelListing,
    blob_path: Callable[[str], Path],
    read_blob: Callable[[str], bytes],
) -> LocalModel:
    """Walk the manifest's layers in order (later layers of a kind override earlier ones)."""
    model_path: Path | None = None
    parent = ""
    adapters: list[Path] = []
    projectors: list[Path] = []
    template: str | None = None
    system: str | None = None
    params: dict[str, Any] = {}
    messages: list[dict[str, Any]] = []
    licenses: list[str] = []
    for layer in info.manifest.layers:
        kind = layer.media_type
        if kind == media.MEDIA_MODEL:
            model_path, parent = blob_path(layer.digest), layer.from_
        elif kind == media.MEDIA_ADAPTER:
            adapters.append(blob_path(layer.digest))
        elif kind == media.MEDIA_PROJECTOR:
            projectors.append(blob_path(layer.digest))
        elif kind in (media.MEDIA_TEMPLATE, media.MEDIA_PROMPT):
            template = _text(read_blob(layer.digest))
        elif kind == media.MEDIA_SYSTEM:
            system = _text(read_blob(layer.digest))
        elif kind == media.MEDIA_PARAMS:
            params = _json(read_blob(layer.digest), dict, "params")
        elif kind == media.MEDIA_MESSAGES:
            messages = [m for m in _json(read_blob(layer.digest), list, "messages") if isinstance(m, dict)]
        elif kind == media.MEDIA_LICENSE:
            licenses.append(_text(read_blob(layer.digest)))
        # Other media types (embed, draft, tensor, json, ...) are not used by corral.
    return LocalModel(
        name=info.name,
        manifest=info.manifest,
        digest=info.digest,
        modified_at=info.modified_at,
        modified_ns=info.modified_ns,
        size=info.size,
        config=info.config,
        model_path=model_path,
        parent_model=parent,
        adapters=adapters,
        projectors=projectors,
        template=template,
        system=system,
        params=params,
        messages=messages,
        license=licenses,
    )
