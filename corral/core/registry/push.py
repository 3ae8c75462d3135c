"""Pushing a model from the store to a registry, with Ollama's progress lines.

Order (as Ollama): ``retrieving manifest``; ``pushing <12 hex>`` per layer, then the config;
``pushing manifest``; ``success``. A blob the repository already has (HEAD) is skipped; one
another repository of the same registry has is mounted (no bytes sent); others are uploaded
in one PUT, or as PATCH chunks when large. The manifest goes last, byte for byte as stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from corral.core.errors import ModelNotFound
from corral.core.events import Event
from corral.core.names import ModelName, parse_name
from corral.core.registry.client import RegistryClient, RegistryOptions
from corral.core.registry.progress import LayerMeter, ignore_event
from corral.core.registry.pull import connect, repository
from corral.core.sources import Progress, ProgressCallback
from corral.core.store import MEDIA_MANIFEST, Layer, Store, decode_manifest

__all__ = ["push_model"]

_READ = 1 << 20


def push_model(
    name: ModelName,
    store: Store,
    progress: ProgressCallback,
    *,
    options: RegistryOptions | None = None,
    emit: Callable[[Event], None] = ignore_event,
) -> None:
    """Push the local model ``name`` to the registry its name points at."""
    options = options or RegistryOptions()
    progress(Progress("retrieving manifest"))
    canonical = store.existing_name(name)
    data = store.manifests.read(canonical)
    if data is None:
        progress(Progress("couldn't retrieve manifest"))
        raise ModelNotFound(f"model '{name.display_shortest()}' not found")
    manifest = decode_manifest(data)
    with connect(name, options) as client:
        repo = repository(name)
        seen: set[str] = set()
        layers = [*manifest.layers, manifest.config] if manifest.config.digest else list(manifest.layers)
        for layer in layers:
            if layer.digest not in seen:
                seen.add(layer.digest)
                _push_layer(client, repo, layer, store, name, progress, emit)
        progress(Progress("pushing manifest"))
        client.put_manifest(repo, name.tag, data, manifest.media_type or MEDIA_MANIFEST)
    progress(Progress("success"))


def _mount_source(store: Store, name: ModelName, layer: Layer) -> str:
    """A repository on the same registry that should have the blob (``from``, or a local model)."""
    target = repository(name).lower()
    candidates: list[ModelName] = []
    if layer.from_:
        candidates.append(parse_name(layer.from_))
    for other, _path in store.manifests.names():
        if other.host.lower() == name.host.lower() and repository(other).lower() != target:
            manifest = store.get_manifest(other)
            if manifest is not None and layer.digest in manifest.digests():
                candidates.append(other)
    for candidate in candidates:
        if (
            candidate.is_valid()
            and candidate.host.lower() == name.host.lower()
            and repository(candidate).lower() != target
        ):
            return repository(candidate)
    return ""


def _read(
    store: Store, digest: str, start: int, size: int, on_bytes: Callable[[int], None]
) -> Iterator[bytes]:
    with os.fdopen(store.blobs.open(digest), "rb") as f:
        f.seek(start)
        left = size
        while left > 0:
            block = f.read(min(_READ, left))
            if not block:
                raise OSError(f"blob {digest} is shorter than its manifest says")
            left -= len(block)
            on_bytes(len(block))
            yield block


def _push_layer(
    client: RegistryClient,
    repo: str,
    layer: Layer,
    store: Store,
    name: ModelName,
    progress: ProgressCallback,
    emit: Callable[[Event], None],
) -> None:
    meter = LayerMeter("pushing", layer.digest, layer.size, progress, emit, name.display_shortest(), "push")
    if client.blob_size(repo, layer.digest) is not None:
        meter.completed = layer.size
        meter.start()
        return
    meter.start()
    if not store.blobs.exists(layer.digest):  # SymlinkInStore for a planted link
        raise ModelNotFound(f'blob "{layer.digest}" not found')
    try:
        mounted, location = client.start_upload(repo, layer.digest, _mount_source(store, name, layer))
        if mounted:
            meter.finish()
            return
        chunk = client.options.upload_chunk
        if layer.size <= chunk:
            client.finish_upload(
                location,
                layer.digest,
                lambda: _read(store, layer.digest, 0, layer.size, meter.add),
                layer.size,
            )
        else:
            for offset in range(0, layer.size, chunk):
                n = min(chunk, layer.size - offset)
                body = b"".join(_read(store, layer.digest, offset, n, meter.add))
                location = client.upload_chunk(location, body, offset)
            client.finish_upload(location, layer.digest)
    finally:
        meter.flush()
    meter.finish()
