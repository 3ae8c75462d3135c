"""Pulling a model from a registry into the store, with Ollama's progress lines.

Order (as Ollama): ``pulling manifest``; ``pulling <12 hex>`` per layer, then the config;
``verifying sha256 digest``; ``writing manifest``; ``removing unused layers`` when the tag
moved; ``success``. The manifest is validated in full before the first byte is written, each
blob is verified before it appears in the store, and the manifest is written last, atomically,
with the registry's bytes unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from corral.core.errors import CorralError
from corral.core.events import Event
from corral.core.names import ModelName
from corral.core.registry.bodies import RegistryError
from corral.core.registry.client import RegistryClient, RegistryNotFound, RegistryOptions
from corral.core.registry.download import BlobDownload
from corral.core.registry.progress import LayerMeter, ignore_event
from corral.core.registry.remote_manifest import check_manifest
from corral.core.sources import Progress, ProgressCallback
from corral.core.store import Layer, Store

__all__ = ["connect", "pull_model", "repository"]

log = logging.getLogger("corral.registry")


def repository(name: ModelName) -> str:
    """The registry repository of a model: ``<namespace>/<model>``."""
    return f"{name.namespace}/{name.model}"


def connect(name: ModelName, options: RegistryOptions) -> RegistryClient:
    """A client for the name's host: ``https`` unless ``insecure`` (plain ``http`` needs it)."""
    name.manifest_relpath()  # InvalidModelName before any request
    if name.scheme == "http" and not options.insecure:
        raise RegistryError("insecure protocol http")
    return RegistryClient(name.host, scheme="http" if options.insecure else "https", options=options)


def pull_model(
    name: ModelName,
    store: Store,
    progress: ProgressCallback,
    *,
    options: RegistryOptions | None = None,
    emit: Callable[[Event], None] = ignore_event,
    prune: bool = True,
) -> None:
    """Pull ``name`` into ``store``; raises CorralError with Ollama's wording on failure."""
    options = options or RegistryOptions()
    progress(Progress("pulling manifest"))
    with connect(name, options) as client:
        repo = repository(name)
        try:
            data, content_type = client.get_manifest(repo, name.tag)
        except RegistryNotFound:
            raise CorralError("pull model manifest: file does not exist", 500) from None
        except RegistryError as exc:
            if exc.message.startswith(("unauthorized", "insecure protocol")):
                raise
            raise RegistryError(f"pull model manifest: {exc.message}", exc.status) from None
        manifest = check_manifest(data, content_type)
        store.ensure_dirs()
        layers = [*manifest.layers, manifest.config]
        with store.pinned() as pins:
            # Pinned before each is looked at or fetched: a delete sharing a blob cannot remove it
            # between here and the manifest write.
            pins.hold(manifest.digests())
            done: set[str] = set()
            for layer in layers:
                if layer.digest in done:
                    continue
                _pull_layer(client, repo, layer, store, progress, emit, name.display_shortest())
                done.add(layer.digest)
            progress(Progress("verifying sha256 digest"))  # each blob was verified before it became visible
            progress(Progress("writing manifest"))
            if store.publish(name, data, prune_old=prune):
                progress(Progress("removing unused layers"))
    progress(Progress("success"))


def _pull_layer(
    client: RegistryClient,
    repo: str,
    layer: Layer,
    store: Store,
    progress: ProgressCallback,
    emit: Callable[[Event], None],
    model: str,
) -> None:
    meter = LayerMeter("pulling", layer.digest, layer.size, progress, emit, model, "pull")
    if store.has_blob(layer.digest):
        meter.completed = layer.size
        meter.start()
        return
    download = BlobDownload(client, repo, layer.digest, layer.size, store.blobs.directory, meter.add)
    try:
        with download.lock():
            if store.has_blob(layer.digest):  # another pull finished it while we waited
                meter.completed = layer.size
                meter.start()
                return
            download.prepare()
            meter.completed = download.resumed_bytes()
            meter.start()
            download.run()
    finally:
        meter.flush()
    meter.finish()
