"""A full disk mid-create or mid-pull (issue 17 item 7), on a real full filesystem: a small tmpfs.

The answer is an ``{"error": "no space left on device"}`` line (or 413/507 before streaming), no
temp file stays behind, the listing still works, nothing names a path of the server's machine,
and the operation succeeds once space is back. Stale partial downloads are swept by age.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.testing import write_tiny_gguf
from tests.clients.clients_models import oci_registry
from tests.conftest import LiveServer, _Servers

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted in tmp_path (needs root, as in CI), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CORRAL_CI"):
            pytest.fail(f"cannot mount a tmpfs for the disk-full tests: {done.stderr.decode()}")
        pytest.skip("DISK-FULL TESTS SKIPPED: mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until ``leave`` bytes are free; returns the filler file."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def debris(models: Path) -> list[str]:
    """Files in the store that are neither blobs, manifests nor resumable partial downloads."""
    found = []
    for root, _dirs, files in os.walk(models):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), models)
            if rel.startswith("blobs/sha256-") and "-partial" not in rel and len(name) == 71:
                continue
            if rel.startswith("manifests/") and not name.startswith("."):
                continue
            if "-partial" in name:
                continue
            found.append(rel)
    return found


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def upload(live: LiveServer, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert live.client.post(f"/api/blobs/{digest}", content=data).status_code == 201
    return digest


def test_create_on_a_full_disk(servers: _Servers, small_disk: Path, tmp_path: Path) -> None:
    live = servers.start(models=small_disk / "models")
    digest = upload(live, write_tiny_gguf(tmp_path / "t.gguf").read_bytes())
    filler = fill(small_disk, leave=20_000)
    body = {"model": "big", "files": {"t.gguf": digest}, "system": "s" * 200_000}
    r = live.client.post("/api/create", json=body)
    assert r.status_code == 200
    assert lines(r.text)[-1] == {"error": "no space left on device"}
    r = live.client.post("/api/create", json={**body, "stream": False})
    assert (r.status_code, r.json()) == (507, {"error": "no space left on device"})
    assert str(small_disk) not in r.text
    assert debris(live.models) == []
    assert live.client.get("/api/tags").json() == {"models": []}
    # An upload that cannot fit is refused before a byte is written.
    blob = os.urandom(100_000)
    r = live.client.post(f"/api/blobs/sha256:{hashlib.sha256(blob).hexdigest()}", content=blob)
    assert r.status_code == 413 and "blob too large" in r.json()["error"]
    assert debris(live.models) == []
    filler.unlink()
    r = live.client.post("/api/create", json=body)
    assert lines(r.text)[-1] == {"status": "success"}


def test_pull_on_a_full_disk_then_resume_and_sweep(
    servers: _Servers, small_disk: Path, tmp_path: Path
) -> None:
    with oci_registry(tmp_path / "registry") as address:
        name = f"{address}/lib/tiny"
        source = servers.start(models=tmp_path / "source")
        gguf = write_tiny_gguf(tmp_path / "t.gguf", n_embd=128, n_ff=512).read_bytes()  # ~1 MiB
        r = source.client.post(
            "/api/create", json={"model": name, "files": {"t.gguf": upload(source, gguf)}, "stream": False}
        )
        assert r.status_code == 200, r.text
        assert lines(source.client.post("/api/push", json={"model": name, "insecure": True}).text)[-1] == {
            "status": "success"
        }
        live = servers.start(models=small_disk / "models")
        filler = fill(small_disk, leave=len(gguf) // 2)
        r = live.client.post("/api/pull", json={"model": name, "insecure": True})
        assert r.status_code == 200
        assert lines(r.text)[-1] == {"error": "no space left on device"}
        assert str(small_disk) not in r.text
        assert debris(live.models) == []
        assert live.client.get("/api/tags").json() == {"models": []}
        partials = [p for p in (live.models / "blobs").iterdir() if "-partial" in p.name]
        assert partials  # kept, so the pull resumes

        filler.unlink()
        r = live.client.post("/api/pull", json={"model": name, "insecure": True})
        assert lines(r.text)[-1] == {"status": "success"}

        # A partial left for longer than PARTIAL_MAX_AGE is removed when a server starts.
        stale = live.models / "blobs" / ("sha256-" + "e" * 64 + "-partial")
        stale.write_bytes(b"x")
        old = time.time() - 7200
        os.utime(stale, (old, old))
        fresh = live.models / "blobs" / ("sha256-" + "f" * 64 + "-partial")
        fresh.write_bytes(b"x")
        servers.start(models=live.models, partial_max_age_s=3600.0)
        assert not stale.exists() and fresh.exists()
