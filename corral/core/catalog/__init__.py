"""Model management over the store: list, show, copy, delete, create, pull, blobs.

The catalog speaks in names and plain dicts shaped like Ollama's JSON; the API adapter only
encodes them. Every name and digest from a client is validated here before the store sees it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from anyio import to_thread

from corral.core.catalog.create import create_model
from corral.core.catalog.describe import list_entry, show_model
from corral.core.catalog.known import Known
from corral.core.catalog.spec import CreateSpec
from corral.core.digest import parse_digest
from corral.core.errors import BadRequest, CorralError, InvalidModelName, ModelNotFound
from corral.core.events import Event
from corral.core.names import ModelName, parse_name, validate_name
from corral.core.quantize import find_quantizer, parse_quantize_type
from corral.core.registry import Credentials, RegistryOptions, push_model
from corral.core.sources import ModelSource, Progress, ProgressCallback, PullContext
from corral.core.store import LocalModel, Store
from corral.core.transfers import TransferSlots

__all__ = ["Catalog", "CreateSpec"]

log = logging.getLogger("corral.catalog")


class Catalog:
    """The model-management operations the native API exposes."""

    def __init__(
        self,
        store: Store,
        sources: Sequence[ModelSource],
        *,
        noprune: bool = False,
        emit: Callable[[Event], None] | None = None,
        quantizers: Sequence[object] = (),
        max_transfers: int = 3,
        stall_timeout_s: float = 60.0,
    ) -> None:
        self.store = store
        self.sources = list(sources)
        self.quantizers = list(quantizers)
        """Backends that may offer ``corral.core.quantize.Quantizer`` (for ``quantize`` on create)."""
        self.noprune = noprune
        self.emit: Callable[[Event], None] = emit or _ignore
        self.known = Known()
        """Answers per model digest (``/api/show`` bodies, backend reports of idle models)."""
        self.transfers = TransferSlots(max_transfers)
        """Pulls and pushes running at once (``MAX_PULLS``); the API admits each before it starts."""
        self.stall_timeout_s = stall_timeout_s

    # --- reading -----------------------------------------------------------------------------

    def list_models(self) -> list[dict[str, Any]]:
        """``/api/tags`` entries, newest first."""
        return [list_entry(self.store, item) for item in self.store.list_models()]

    def show(
        self,
        name: str,
        *,
        verbose: bool = False,
        backend: Callable[[LocalModel], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``/api/show`` for ``name`` (404 ``model 'NAME:TAG' not found``).

        ``backend`` (the scheduler's :meth:`~corral.core.scheduler.Scheduler.backend_report`)
        fills corral's ``backend`` field: which backend runs the model and why.
        """
        parsed = parse_name(name)
        if not parsed.is_valid():
            raise ModelNotFound(f"model '{parsed.display_shortest()}' not found")
        local = self.store.resolve(parsed)
        known = self.known.get(
            ("show", local.digest, local.name.display_shortest(), local.modified_ns, verbose),
            lambda: show_model(self.store, local, verbose=verbose),
        )
        # A shallow copy, and model_info copied too: callers adjust those (GitHub Copilot's basename).
        out = {**known, "model_info": dict(known["model_info"])}
        if backend is not None:
            out["backend"] = backend(local)
        return out

    # --- manifests ---------------------------------------------------------------------------

    def copy(self, source: str, destination: str) -> None:
        """Write ``source``'s manifest again under ``destination``; blobs are shared."""
        src = parse_name(source)
        if not src.is_valid():
            raise BadRequest(f'source "{source}" is invalid')
        dst = parse_name(destination)
        if not dst.is_valid():
            raise BadRequest(f'destination "{destination}" is invalid')
        if self.store.get_manifest(src) is None:
            raise ModelNotFound(f'model "{source}" not found')
        self.store.copy_model(src, dst)

    def delete(self, name: str) -> None:
        """Remove a manifest and the blobs no other manifest uses."""
        if not name:
            raise BadRequest("model is required")
        parsed = parse_name(name)
        if not parsed.is_valid():
            raise BadRequest(f'name "{name}" is invalid')
        if self.store.get_manifest(parsed) is None:
            raise ModelNotFound(f"model '{name}' not found")
        self.store.delete_model(parsed)

    # --- blobs -------------------------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        """Whether a blob is stored (400 for a malformed digest)."""
        return self.store.has_blob(parse_digest(digest))

    async def put_blob_async(self, digest: str, chunks: AsyncIterator[bytes]) -> bool:
        """Store an uploaded blob, verifying its digest. Returns False when it already existed."""
        normalized = parse_digest(digest)
        if self.store.has_blob(normalized):
            return False
        writer = self.store.blob_writer(normalized)
        try:
            async for chunk in chunks:
                if chunk:
                    await to_thread.run_sync(writer.write, chunk)
            await to_thread.run_sync(writer.commit)
        except CorralError as exc:
            writer.abort()
            if "digest mismatch" in exc.message:
                raise BadRequest(
                    f'digest mismatch, expected "{digest}", got "{_actual(exc.message)}"'
                ) from None
            raise
        except BaseException:
            writer.abort()
            raise
        return True

    # --- create and pull ---------------------------------------------------------------------

    def check_create(self, spec: CreateSpec) -> None:
        """Validation done before a create starts streaming (so errors keep their status)."""
        spec.validate()
        if spec.quantize:
            parse_quantize_type(spec.quantize)
            find_quantizer(self.quantizers)

    def create(self, spec: CreateSpec, progress: ProgressCallback) -> None:
        """Create the model, reporting Ollama's status lines."""
        create_model(self, spec, progress)

    def check_pull(self, name: str) -> ModelName:
        """Validate a pull target (400 ``invalid model name``)."""
        return _validated(name)

    def pull(
        self,
        name: ModelName,
        progress: ProgressCallback,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
    ) -> None:
        """Ask the model sources, highest priority first, to put ``name`` into the store."""
        context = PullContext(
            progress,
            emit=self.emit,
            insecure=insecure,
            credentials=credentials,
            prune=not self.noprune,
            stall_timeout_s=self.stall_timeout_s,
        )
        for source in self.sources:
            if source.provides(name):
                log.info("pulling %s from source %s", name.display_shortest(), source.name)
                source.pull(name, self.store, context)
                return
        # No source knows the name: answer like a registry that has no such manifest.
        progress(Progress("pulling manifest"))
        raise CorralError("pull model manifest: file does not exist", 500)

    def check_push(self, name: str) -> ModelName:
        """Validate a push target: 400 ``model is required`` / ``invalid model name``."""
        if not name:
            raise BadRequest("model is required")
        return _validated(name)

    def push(
        self,
        name: ModelName,
        progress: ProgressCallback,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
    ) -> None:
        """Upload the local model ``name`` to the registry its name points at."""
        options = RegistryOptions(
            insecure=insecure, credentials=credentials or Credentials(), stall_timeout=self.stall_timeout_s
        )
        push_model(name, self.store, progress, options=options, emit=self.emit)

    def ensure_local(self, name: ModelName, progress: ProgressCallback) -> None:
        """Pull ``name`` when it is not in the store (create's ``from`` does this)."""
        if self.store.get_manifest(name) is None:
            self.pull(name, progress)


def _ignore(event: Event) -> None:
    """The default ``emit``: drop the event."""


def _actual(message: str) -> str:
    # The store's message ends with: got "sha256:<hex>"
    return message.rsplit('got "', 1)[-1].rstrip('"')


def _validated(name: str) -> ModelName:
    """``validate_name`` with Ollama's bare ``invalid model name`` (no details of what is wrong)."""
    try:
        return validate_name(name)
    except InvalidModelName:
        raise InvalidModelName() from None
