"""The ``manifests/HOST/NAMESPACE/MODEL/TAG`` tree: paths, case-insensitive lookup, listing."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from corral.core.errors import CorralError
from corral.core.names import ModelName
from corral.core.store.atomic import atomic_write_bytes, fsync_dir, is_temp_name
from corral.core.store.nofollow import read_regular

__all__ = ["ManifestTree"]

log = logging.getLogger(__name__)

# Anything that looks like a digest in any file under manifests/ counts as a reference, so a
# manifest we cannot parse still protects its blobs from deletion.
_DIGEST_IN_TEXT = re.compile(rb"sha256[:-]([0-9a-fA-F]{64})")
_MAX_MANIFEST_BYTES = 4 << 20


class ManifestTree:
    """Manifest files by model name. Names must be valid; paths are checked to stay inside."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: ModelName) -> Path:
        """The manifest file for ``name`` exactly as spelled (raises InvalidModelName if invalid)."""
        parts = name.manifest_relpath()
        path = self.directory.joinpath(*parts)
        root = os.path.normpath(self.directory)
        # Valid parts cannot contain separators or be '.'/'..'; this guards the invariant anyway.
        if os.path.normpath(path) != os.path.join(root, *parts) or any(p in (".", "..") for p in parts):
            raise CorralError("manifest path escapes the store")
        return path

    def existing_name(self, name: ModelName) -> ModelName:
        """``name`` with each part replaced by the casing already on disk (level by level).

        An exact match wins over a case-insensitive one; parts with no match keep their spelling.
        """
        parts = list(name.manifest_relpath())
        directory = self.directory
        for i, part in enumerate(parts):
            match = self._match_entry(directory, part, want_dir=i < 3)
            if match is None:
                break
            parts[i] = match
            directory = directory / match
        return name.with_parts(host=parts[0], namespace=parts[1], model=parts[2], tag=parts[3])

    @staticmethod
    def _match_entry(directory: Path, part: str, *, want_dir: bool) -> str | None:
        try:
            entries = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return None
        folded = part.lower()
        candidates = [e for e in entries if e == part] + [e for e in entries if e.lower() == folded]
        for entry in candidates:
            full = directory / entry
            if full.is_dir() if want_dir else full.is_file():
                return entry
        return None

    def read(self, name: ModelName) -> bytes | None:
        """The manifest bytes for the exact name, or None if there is no such file."""
        data = read_regular(self.directory, self.path(name), _MAX_MANIFEST_BYTES)
        if data is None:
            return None
        if len(data) > _MAX_MANIFEST_BYTES:
            raise CorralError(f"manifest for {name.display_shortest()} is too large")
        return data

    def write(self, name: ModelName, data: bytes) -> None:
        """Atomically write the manifest file for the exact name."""
        path = self.path(name)
        created = self._missing_dirs(path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        for directory in created:
            fsync_dir(directory.parent)
        atomic_write_bytes(path, data, "manifest")

    def _missing_dirs(self, directory: Path) -> list[Path]:
        missing: list[Path] = []
        while directory != self.directory and not directory.exists():
            missing.append(directory)
            directory = directory.parent
        return list(reversed(missing))

    def remove(self, name: ModelName) -> bool:
        """Delete the manifest file and the directories it leaves empty; returns whether it existed."""
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(path.parent)
        directory = path.parent
        while directory != self.directory:
            try:
                directory.rmdir()
            except OSError:
                break
            directory = directory.parent
        return True

    def files(self) -> Iterator[tuple[tuple[str, ...], Path]]:
        """Every regular file below ``manifests/`` as (relative parts, path), temp files included.

        Links are skipped (``os.walk`` does not descend into linked folders; linked files are
        left out here), so a planted link is neither listed nor read.
        """
        for dirpath, dirnames, filenames in os.walk(self.directory):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self.directory).parts
            for filename in sorted(filenames):
                path = Path(dirpath, filename)
                if path.is_symlink():
                    log.warning(
                        "ignoring a symbolic link in the store: manifests/%s", "/".join((*rel, filename))
                    )
                    continue
                yield (*rel, filename), path

    def names(self) -> Iterator[tuple[ModelName, Path]]:
        """Every manifest file whose path is a valid ``host/namespace/model/tag`` name."""
        for parts, path in self.files():
            if is_temp_name(parts[-1]):
                continue
            name = ModelName.from_relpath(parts)
            if name is None:
                log.warning("ignoring manifest with an invalid name: %s", "/".join(parts))
                continue
            yield name, path

    def referenced_digests(self) -> set[str]:
        """Every ``sha256:<hex>`` mentioned by any file under ``manifests/`` (parsable or not)."""
        found: set[str] = set()
        for _parts, path in self.files():
            try:
                data = read_regular(self.directory, path, 1 << 30) or b""
            except OSError as exc:
                # Unreadable: we cannot know what it references, so nothing may be deleted.
                rel = path.relative_to(self.directory).as_posix()
                raise CorralError(f"cannot read manifest {rel}: {exc.strerror}") from None
            found.update("sha256:" + m.decode().lower() for m in _DIGEST_IN_TEXT.findall(data))
        return found

    def remove_temp_files(self) -> int:
        """Delete temp files a crash left behind and prune empty directories; returns files removed."""
        removed = 0
        for parts, path in list(self.files()):
            if is_temp_name(parts[-1]):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        for dirpath, _dirnames, _filenames in sorted(os.walk(self.directory), reverse=True):
            if Path(dirpath) != self.directory:
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        return removed
