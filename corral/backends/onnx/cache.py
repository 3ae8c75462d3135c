"""The converted-model cache: one ONNX model per GGUF digest, in a folder beside the store.

Layout: for a blob ``<models>/blobs/sha256-HEX`` the model lives in
``<models>/cache/onnx/sha256-HEX-v<CONVERTER_VERSION>/`` (``model.onnx``, ``model.onnx.data`` and
``meta.json``). A GGUF outside a store gets ``<its folder>/.onnx-cache/`` instead.

* **Atomic**: a conversion writes into a hidden temporary folder and renames it into place, so a
  folder that exists is complete; a crash leaves only a ``.tmp-*`` folder, removed by :func:`prune`.
* **Reused** across restarts: the folder name carries the source digest and the converter version.
* **Removed with the blob**: :func:`prune` runs before every load and deletes entries whose
  ``blobs/sha256-HEX`` no longer exists (or that an older converter wrote). Deleting a model thus
  frees its ONNX copy at the next onnx load; the store itself knows nothing about this cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx

from corral.backends.onnx.graph import build_model

__all__ = ["CONVERTER_VERSION", "Converted", "cache_root", "conversions", "convert_cached", "prune"]

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
"""Bump when the graph changes: entries of other versions are pruned and rebuilt."""

_ENTRY = re.compile(r"^sha256-([0-9a-f]{64})-v(\d+)$")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()

conversions: dict[str, float] = {}
"""Conversions in progress: digest → fraction done (for status displays)."""


@dataclass(frozen=True)
class Converted:
    """A cached conversion."""

    path: Path
    """``model.onnx``."""
    seconds: float
    """How long the conversion took (when it was made)."""
    bytes: int
    """Size of the cache entry on disk."""
    reused: bool
    """True when the entry already existed."""


def cache_root(model_path: Path) -> Path:
    """Where converted models of the GGUF at ``model_path`` are kept."""
    if model_path.parent.name == "blobs":
        return model_path.parent.parent / "cache" / "onnx"
    return model_path.parent / ".onnx-cache"


def _hex_digest(model_path: Path, digest: str) -> str:
    match = re.fullmatch(r"sha256[:-]([0-9a-f]{64})", digest)
    if match:
        return match.group(1)
    sha = hashlib.sha256()
    with model_path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def prune(root: Path) -> list[str]:
    """Delete entries whose source blob is gone, entries of another converter version and
    leftover temporary folders; returns the removed folder names. Only the store layout
    (``root`` = ``<models>/cache/onnx``) can tell a blob is gone."""
    if not root.is_dir():
        return []
    blobs = root.parent.parent / "blobs" if root.parent.name == "cache" else None
    removed: list[str] = []
    for entry in root.iterdir():
        match = _ENTRY.match(entry.name)
        if match:
            stale = int(match.group(2)) != CONVERTER_VERSION
            gone = blobs is not None and not (blobs / f"sha256-{match.group(1)}").exists()
            if not (stale or gone):
                continue
        elif not entry.name.startswith(".tmp-") or _young(entry):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    if removed:
        log.info(
            "removed %d stale ONNX cache entr%s: %s",
            len(removed),
            "y" if len(removed) == 1 else "ies",
            ", ".join(removed),
        )
    return removed


def _young(path: Path) -> bool:
    """A temporary folder touched in the last hour may belong to a conversion still running."""
    try:
        return time.time() - path.stat().st_mtime < 3600
    except OSError:
        return False


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def convert_cached(
    model_path: Path,
    digest: str,
    name: str,
    build: Callable[[str, Callable[[float, str], None]], onnx.ModelProto] | None = None,
) -> Converted:
    """Return the cached ONNX model for the GGUF, converting it first if needed (once per digest,
    even with concurrent loads). ``build`` defaults to :func:`~corral.backends.onnx.graph.build_model`.
    Progress is logged in 10% steps and kept in :data:`conversions`."""
    hex_ = _hex_digest(model_path, digest)
    root = cache_root(model_path)
    prune(root)
    final = root / f"sha256-{hex_}-v{CONVERTER_VERSION}"
    with _locks_guard:
        lock = _locks.setdefault(hex_, threading.Lock())
    with lock:
        if (final / "model.onnx").exists():
            meta = json.loads((final / "meta.json").read_text(encoding="utf-8"))
            return Converted(final / "model.onnx", float(meta.get("seconds", 0.0)), _size(final), reused=True)
        root.mkdir(parents=True, exist_ok=True)
        temp = root / f".tmp-{hex_[:12]}-{uuid.uuid4().hex[:8]}"
        temp.mkdir()
        started = time.perf_counter()
        shown = [-1]

        def progress(fraction: float, what: str) -> None:
            conversions[hex_] = fraction
            step = int(fraction * 10)
            if step > shown[0]:
                shown[0] = step
                log.info("converting %s to ONNX: %d%% (%s)", name, int(fraction * 100), what)

        try:
            model = (build or build_model)(str(model_path), progress)
            progress(0.97, "writing")
            onnx.save_model(
                model, temp / "model.onnx", save_as_external_data=True, location="model.onnx.data"
            )
            del model
            onnx.checker.check_model(str(temp / "model.onnx"))
            seconds = time.perf_counter() - started
            meta = {"source": f"sha256:{hex_}", "converter_version": CONVERTER_VERSION, "seconds": seconds}
            (temp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            for f in temp.iterdir():
                with f.open("rb") as handle:
                    os.fsync(handle.fileno())
            try:
                os.rename(temp, final)
            except OSError:  # another process finished first: use its entry
                if not (final / "model.onnx").exists():
                    raise
        finally:
            conversions.pop(hex_, None)
            shutil.rmtree(temp, ignore_errors=True)
        log.info("converted %s to ONNX in %.1fs (%.0f MiB)", name, seconds, _size(final) / 2**20)
        return Converted(final / "model.onnx", seconds, _size(final), reused=False)
