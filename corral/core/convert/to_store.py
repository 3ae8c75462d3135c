"""Convert a model given as named files (blobs or a package's directory) straight into a store blob."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from corral.core.convert.bert import convert_bert
from corral.core.errors import BadRequest
from corral.core.store import Store

__all__ = ["convert_into_store"]

_CHUNK = 1 << 20


def convert_into_store(
    store: Store,
    files: Mapping[str, Path],
    *,
    f16: bool = True,
    progress: Callable[[str], None] = lambda s: None,
) -> tuple[str, int]:
    """Convert the model whose files are ``files`` (relative name → path) and store the GGUF.

    The files are linked under their names into a scratch directory beside the store, converted
    there and streamed into a blob. Returns ``(digest, size)``; the conversion is deterministic,
    so the same files give the same digest.
    """
    store.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".convert-", dir=store.root) as scratch:
        root = Path(scratch)
        for name, path in files.items():
            target = (root / name).resolve()
            if not target.is_relative_to(root.resolve()):
                raise BadRequest("file path must be relative")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(Path(path).resolve())
        out = root / "model.gguf"
        convert_bert(root, out, f16=f16, progress=progress)
        with store.blob_writer() as writer, out.open("rb") as f:
            while block := f.read(_CHUNK):
                writer.write(block)
            return writer.commit()
