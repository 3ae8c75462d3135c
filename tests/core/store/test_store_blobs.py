"""Blob writes: verified before visible, atomic, stored once, never outside ``blobs/``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.core.errors import BadRequest, CorralError, InvalidDigest, NotFound
from corral.core.store import MEDIA_SYSTEM, Store

DATA = b"hello blob"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_write_blob_streams_and_verifies(tmp_path: Path) -> None:
    store = Store(tmp_path)
    digest, size = store.write_blob([b"hello", b"", b" blob"], expected_digest="sha256-" + DIGEST[7:].upper())
    assert (digest, size) == (DIGEST, len(DATA))
    assert files(tmp_path / "blobs") == ["sha256-" + DIGEST[7:]]
    assert store.blob_path(digest).read_bytes() == DATA
    assert store.has_blob(DIGEST.replace(":", "-"))
    assert store.read_blob(digest) == DATA


def test_digest_mismatch_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    wrong = "sha256:" + "0" * 64
    with pytest.raises(BadRequest) as exc:
        store.write_blob([DATA], expected_digest=wrong)
    assert str(exc.value) == f'digest mismatch, expected "{wrong}", got "{DIGEST}"'
    assert files(tmp_path / "blobs") == []
    assert not store.has_blob(wrong)
    assert not store.has_blob(DIGEST)


def test_invalid_expected_digest_creates_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(InvalidDigest):
        store.write_blob([DATA], expected_digest="../../outside")
    assert not (tmp_path / "blobs").exists()


def test_identical_content_stored_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_blob_bytes(DATA)
    first = os.stat(store.blob_path(DIGEST)).st_ino
    assert store.write_blob_bytes(DATA, DIGEST) == (DIGEST, len(DATA))
    assert files(tmp_path / "blobs") == ["sha256-" + DIGEST[7:]]
    assert os.stat(store.blob_path(DIGEST)).st_ino == first


def test_blob_invisible_until_committed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    seen: list[list[str]] = []

    def chunks() -> Iterator[bytes]:
        yield b"hello"
        seen.append(files(tmp_path / "blobs"))
        assert not store.has_blob(DIGEST)
        yield b" blob"

    store.write_blob(chunks(), DIGEST)
    assert len(seen) == 1 and len(seen[0]) == 1
    assert seen[0][0].startswith(".corral-") and seen[0][0].endswith(".tmp")
    assert files(tmp_path / "blobs") == ["sha256-" + DIGEST[7:]]


def test_crash_before_rename_leaves_no_blob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.write_blob_bytes(DATA)
    assert files(tmp_path / "blobs") == []
    assert not store.has_blob(DIGEST)


def test_failing_source_removes_temp(tmp_path: Path) -> None:
    store = Store(tmp_path)

    def chunks() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        store.write_blob(chunks())
    assert files(tmp_path / "blobs") == []


def test_blob_writer_incremental(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.blob_writer(DIGEST) as w:
        w.write(b"hello ")
        w.write(b"blob")
        assert w.size == len(DATA)
        assert w.commit() == (DIGEST, len(DATA))
    aborted = store.blob_writer()
    aborted.write(b"never")
    aborted.abort()
    assert files(tmp_path / "blobs") == ["sha256-" + DIGEST[7:]]


def test_add_layer(tmp_path: Path) -> None:
    store = Store(tmp_path)
    layer = store.add_layer(b"be brief", MEDIA_SYSTEM)
    assert layer.media_type == MEDIA_SYSTEM
    assert layer.size == 8
    assert store.read_blob(layer.digest) == b"be brief"


def test_read_blob_limits(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_blob_bytes(DATA)
    assert store.read_blob(DIGEST, max_bytes=len(DATA)) == DATA
    with pytest.raises(CorralError):
        store.read_blob(DIGEST, max_bytes=len(DATA) - 1)
    missing = "sha256:" + "1" * 64
    with pytest.raises(NotFound, match=f'blob "{missing}" not found'):
        store.read_blob(missing)


@pytest.mark.parametrize(
    "digest",
    ["../../../../etc/passwd", "sha256-45640291", "../sha256-" + "a" * 64, "sha256:" + "a" * 64 + "/x", ""],
)
def test_bad_digests_never_become_paths(tmp_path: Path, digest: str) -> None:
    store = Store(tmp_path / "models")
    for call in (store.blob_path, store.has_blob, store.read_blob):
        with pytest.raises(InvalidDigest):
            call(digest)
    with pytest.raises(InvalidDigest):
        store.write_blob_bytes(DATA, digest)
    assert list(tmp_path.iterdir()) == []
