"""The model store: Ollama's ``manifests/`` + ``blobs/`` layout under one root directory."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from corral.core.digest import DIGEST_PATTERN, blob_filename, is_blob_filename, parse_digest
from corral.core.errors import CorralError, ModelNotFound
from corral.core.names import ModelName, validate_name
from corral.core.store.atomic import is_temp_name
from corral.core.store.blobs import BlobStore, BlobWriter
from corral.core.store.manifest import (
    InvalidManifest,
    Layer,
    Manifest,
    ModelConfig,
    decode_manifest,
    encode_config,
    encode_manifest,
)
from corral.core.store.manifests import ManifestTree
from corral.core.store.media import MEDIA_CONFIG
from corral.core.store.models import TEXT_LAYER_LIMIT, LocalModel, ModelListing, build_local_model
from corral.core.store.pins import Pins, PinSet

__all__ = ["Store"]

_PARTIAL = re.compile(r"sha256-[0-9a-f]{64}-partial(-[0-9]+)?")

log = logging.getLogger(__name__)


def _name(name: ModelName | str) -> ModelName:
    if isinstance(name, str):
        return validate_name(name)
    name.manifest_relpath()  # raises InvalidModelName for an invalid name
    return name


class Store:
    """Models on disk, laid out exactly like ``$OLLAMA_MODELS``.

    Methods taking a model name accept a :class:`ModelName` or a string (parsed with defaults);
    an invalid name raises InvalidModelName before any path is built. Lookups are
    case-insensitive and use the casing already on disk. Every write is atomic.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = BlobStore(self.root / "blobs")
        self.manifests = ManifestTree(self.root / "manifests")
        # Serializes manifest writes against reference counting in delete and prune.
        self._lock = threading.RLock()
        self._pins = PinSet(self._lock)

    def ensure_dirs(self) -> None:
        """Create ``root/blobs`` and ``root/manifests`` if they are missing."""
        self.blobs.directory.mkdir(parents=True, exist_ok=True)
        self.manifests.directory.mkdir(parents=True, exist_ok=True)

    # -- blobs -------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """``root/blobs/sha256-<hex>``; raises InvalidDigest for a malformed digest."""
        return self.blobs.path(digest)

    def has_blob(self, digest: str) -> bool:
        """True when the blob is stored (InvalidDigest for a malformed digest)."""
        return self.blobs.exists(digest)

    def blob_writer(self, expected_digest: str | None = None) -> BlobWriter:
        """A streamed blob write: ``write(chunk)`` repeatedly, then ``commit() -> (digest, size)``."""
        return self.blobs.writer(expected_digest)

    def write_blob(self, chunks: Iterable[bytes], expected_digest: str | None = None) -> tuple[str, int]:
        """Store a blob from chunks; returns ``(sha256:<hex>, size)``.

        With ``expected_digest`` a mismatch raises BadRequest
        ``digest mismatch, expected "<d>", got "<actual>"`` and nothing is stored.
        """
        return self.blobs.write(chunks, expected_digest)

    def write_blob_bytes(self, data: bytes, expected_digest: str | None = None) -> tuple[str, int]:
        """:meth:`write_blob` for one bytes object."""
        return self.blobs.write([data], expected_digest)

    def add_layer(self, data: bytes, media_type: str, from_: str = "") -> Layer:
        """Store ``data`` as a blob and return the manifest layer describing it."""
        digest, size = self.write_blob_bytes(data)
        return Layer(media_type=media_type, digest=digest, size=size, from_=from_)

    def add_config(self, config: ModelConfig) -> Layer:
        """Store a config blob and return the manifest's ``config`` entry."""
        return self.add_layer(encode_config(config), MEDIA_CONFIG)

    def read_blob(self, digest: str, max_bytes: int = TEXT_LAYER_LIMIT) -> bytes:
        """A blob's bytes; NotFound when absent, CorralError when larger than ``max_bytes``."""
        return self.blobs.read(digest, max_bytes)

    def pinned(self) -> Pins:
        """Pins for one create or pull (``with store.pinned() as pins``): see :mod:`.pins`."""
        return Pins(self._pins, self._lock, self.blobs.exists, self.remove_if_unreferenced)

    # -- manifests ---------------------------------------------------------------------------

    def existing_name(self, name: ModelName | str) -> ModelName:
        """The name with each part in the casing already on disk (unchanged where nothing matches)."""
        return self.manifests.existing_name(_name(name))

    def manifest_path(self, name: ModelName | str) -> Path:
        """Where the manifest for ``name`` lives (or would live), using on-disk casing."""
        return self.manifests.path(self.existing_name(name))

    def get_manifest(self, name: ModelName | str) -> Manifest | None:
        """The manifest, or None when the model does not exist; InvalidManifest if it is corrupt."""
        data = self.manifests.read(self.existing_name(name))
        return None if data is None else decode_manifest(data)

    def manifest_info(self, name: ModelName | str) -> ModelListing | None:
        """Manifest, mtime, manifest digest, total size and config; None when absent.

        Raises InvalidManifest for a corrupt manifest and CorralError for a missing or corrupt
        config blob.
        """
        return self._info(self.existing_name(name))

    def _info(self, name: ModelName) -> ModelListing | None:
        path = self.manifests.path(name)
        data = self.manifests.read(name)
        if data is None:
            return None
        manifest = decode_manifest(data)
        try:
            mtime_ns = path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        return ModelListing(
            name=name,
            manifest=manifest,
            modified_at=datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC).astimezone(),
            modified_ns=mtime_ns,
            digest=hashlib.sha256(data).hexdigest(),
            size=manifest.total_size(),
            config=self._read_config(manifest),
        )

    def _read_config(self, manifest: Manifest) -> dict[str, Any]:
        if not manifest.config.digest:
            return {}
        data = self.read_blob(manifest.config.digest)
        try:
            config = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise CorralError(f"invalid model config: {exc}") from None
        if not isinstance(config, dict):
            raise CorralError("invalid model config: expected a JSON object")
        return config

    def write_manifest(self, name: ModelName | str, manifest: Manifest) -> str:
        """Atomically write the manifest (into the existing casing); returns its sha256 hex.

        Every digest in it is validated first (InvalidDigest).
        """
        manifest.digests()
        data = encode_manifest(manifest)
        with self._lock:
            self.manifests.write(self.existing_name(name), data)
        return hashlib.sha256(data).hexdigest()

    def write_manifest_bytes(self, name: ModelName | str, data: bytes) -> str:
        """Atomically write a manifest exactly as received (a registry's bytes keep their digest).

        The bytes must decode as a manifest whose digests are all valid; returns the sha256 hex.
        """
        decode_manifest(data).digests()
        with self._lock:
            self.manifests.write(self.existing_name(name), data)
        return hashlib.sha256(data).hexdigest()

    def publish(self, name: ModelName | str, manifest: Manifest | bytes, *, prune_old: bool) -> int:
        """Write ``name``'s manifest and, with ``prune_old``, remove what only the one it replaced used.

        Reading the old manifest, writing the new one and removing the old blobs happen under one
        lock, so two writers of one name cannot each miss the other's blobs (an orphan). ``bytes``
        are written as received (a registry's manifest keeps its digest). Returns blobs removed.
        """
        with self._lock:
            canonical = self.existing_name(name)
            try:
                old = self.get_manifest(canonical)
            except InvalidManifest:
                old = None
            if isinstance(manifest, bytes):
                self.write_manifest_bytes(canonical, manifest)
            else:
                self.write_manifest(canonical, manifest)
            if old is None or not prune_old:
                return 0
            return self.remove_if_unreferenced(old.digests())

    def list_models(self) -> list[ModelListing]:
        """Every readable model, newest manifest first. Corrupt entries are logged and skipped."""
        found: list[ModelListing] = []
        for name, path in self.manifests.names():
            try:
                info = self._info(name)
            except (CorralError, OSError) as exc:
                log.warning("skipping model %s (%s): %s", name.display_shortest(), path, exc)
                continue
            if info is not None:
                found.append(info)
        found.sort(key=lambda info: info.modified_at, reverse=True)
        return found

    def resolve(self, name: ModelName | str) -> LocalModel:
        """Everything needed to run or show a model.

        Raises ModelNotFound ``model '<name:tag>' not found`` when it does not exist, and
        InvalidManifest/CorralError when its manifest, config or a text layer is corrupt.
        """
        canonical = self.existing_name(name)
        info = self._info(canonical)
        if info is None:
            raise ModelNotFound(f"model '{canonical.display_shortest()}' not found")
        return build_local_model(info, self.blobs.regular_path, self.read_blob)

    # -- copy, delete, prune -----------------------------------------------------------------

    def copy_model(self, src: ModelName | str, dst: ModelName | str) -> None:
        """Write the source's manifest bytes again under ``dst`` (blobs are shared).

        Raises ModelNotFound ``model "<src>" not found``.
        """
        source = self.existing_name(src)
        with self._lock:
            data = self.manifests.read(source)
            if data is None:
                raise ModelNotFound(f'model "{source.display_shortest()}" not found')
            decode_manifest(data)  # never copy something that would not load
            self.manifests.write(self.existing_name(dst), data)

    def delete_model(self, name: ModelName | str) -> None:
        """Remove the manifest, empty directories, and blobs no other manifest refers to.

        Raises ModelNotFound ``model '<name:tag>' not found``.
        """
        canonical = self.existing_name(name)
        with self._lock:
            data = self.manifests.read(canonical)
            if data is None:
                raise ModelNotFound(f"model '{canonical.display_shortest()}' not found")
            try:
                candidates = decode_manifest(data).digests()
            except InvalidManifest:
                candidates = {
                    parse_digest(m.group(0)) for m in DIGEST_PATTERN.finditer(data.decode("latin-1"))
                }
            self.manifests.remove(canonical)
            try:
                self.remove_if_unreferenced(candidates)
            except CorralError as exc:
                log.warning("deleted %s but kept its blobs: %s", canonical.display_shortest(), exc)

    def remove_if_unreferenced(self, digests: Iterable[str]) -> int:
        """Delete those of ``digests`` that no manifest refers to; returns how many were removed.

        Call after replacing a manifest (create, pull) with the old manifest's digests. Pinned
        blobs (in use by a create or pull in flight) are kept until their last pin goes.
        """
        with self._lock:
            referenced = self.manifests.referenced_digests()
            removed = 0
            for digest in {parse_digest(d) for d in digests} - referenced:
                if self._pins.is_pinned(digest):
                    self._pins.deferred.add(digest)
                elif self.blobs.remove(digest):
                    removed += 1
            return removed

    def prune_unreferenced(self) -> int:
        """Start-up cleanup; returns the number of files removed.

        Renames legacy ``sha256:<hex>`` blob files, removes temp files, removes blobs that no
        manifest refers to, and prunes empty manifest directories. Partial downloads
        (``sha256-<hex>-partial*``) are kept so an interrupted pull resumes after a restart.
        """
        with self._lock:
            removed = self.manifests.remove_temp_files()
            try:
                referenced = self.manifests.referenced_digests()
            except CorralError as exc:
                log.warning("not pruning blobs: %s", exc)
                return removed
            for filename in self.blobs.names():
                path = self.blobs.directory / filename
                if _PARTIAL.fullmatch(filename):
                    continue
                if not is_blob_filename(filename):
                    removed += self._unlink(path)
                    continue
                digest = parse_digest(filename)
                if self._pins.is_pinned(digest):
                    continue
                if digest not in referenced:
                    removed += self._unlink(path)
                elif filename != blob_filename(digest):
                    self._rename_legacy(path, self.blobs.path(digest))
            return removed

    def sweep_stale(self, max_age_s: float) -> int:
        """Remove unfinished downloads and uploads untouched for ``max_age_s``; returns files removed.

        A partial download resumes when pulled again, so it is kept that long rather than at once;
        an upload's temp file is only ever stale (the upload that wrote it is gone).
        """
        cutoff = time.time() - max_age_s
        removed = 0
        with self._lock:
            for filename in self.blobs.names():
                if not (_PARTIAL.fullmatch(filename) or is_temp_name(filename)):
                    continue
                path = self.blobs.directory / filename
                try:
                    if path.lstat().st_mtime >= cutoff:
                        continue
                except FileNotFoundError:
                    continue
                removed += self._unlink(path)
        return removed

    @staticmethod
    def _unlink(path: Path) -> int:
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        log.info("pruned %s", path.name)
        return 1

    @staticmethod
    def _rename_legacy(path: Path, target: Path) -> None:
        # Very old Ollama builds named blobs sha256:<hex>; move them to the current name.
        with contextlib.suppress(OSError):
            if target.exists():
                path.unlink()
            else:
                os.replace(path, target)
