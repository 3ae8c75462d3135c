"""The blob download path: one connection on a fast link, more on a slow one, resume, proxies."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.core.digest import sha256_digest
from corral.core.registry import RegistryOptions
from corral.core.registry import client as client_module
from corral.core.registry.blobget import proxied
from corral.core.registry.bodies import RegistryError
from corral.core.registry.client import RegistryClient
from corral.core.registry.download import BlobDownload
from corral.core.registry.sidecar import BackgroundSync

REPO = "library/fast"


@dataclass
class RangeServer:
    """Serves one blob with Range support; records ranges and the peak number of open requests."""

    data: bytes
    delay: float = 0.0
    cuts: list[int] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    host: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    digest: str = ""
    """The digest the blob is served under (of the data it started with)."""

    def __post_init__(self) -> None:
        self.digest = sha256_digest(self.data)


def _handler(srv: RangeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path != f"/v2/{REPO}/blobs/{srv.digest}":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with srv.lock:
                srv.active += 1
                srv.peak = max(srv.peak, srv.active)
                srv.ranges.append(self.headers.get("Range", ""))
                cut = srv.cuts.pop(0) if srv.cuts else None
            try:
                time.sleep(srv.delay)
                first, last = self.headers["Range"].removeprefix("bytes=").split("-")
                body = srv.data[int(first) : int(last) + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(srv.data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.close_connection = True
            finally:
                with srv.lock:
                    srv.active -= 1

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(data: bytes, **kwargs: Any) -> RangeServer:
        srv = RangeServer(data, **kwargs)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(srv))
        server.daemon_threads = True
        srv.host = f"127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return srv

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _download(srv: RangeServer, blobs: Path, **options: Any) -> BlobDownload:
    opts = RegistryOptions(insecure=True, backoff=0, **options)
    with RegistryClient(srv.host, scheme="http", options=opts) as client:
        download = BlobDownload(client, REPO, srv.digest, len(srv.data), blobs, lambda n: None)
        download.prepare()
        download.run()
    return download


def test_registry_fast_link_uses_one_connection_in_order(serve: Any, tmp_path: Path) -> None:
    data = os.urandom(6 << 20)  # above the size that gets a hashing thread
    srv = serve(data)
    download = _download(srv, tmp_path, part_size=1 << 20)
    assert download.final.read_bytes() == data
    assert srv.peak == 1
    size = len(data)
    assert srv.ranges == [f"bytes={o}-{min(o + (1 << 20), size) - 1}" for o in range(0, size, 1 << 20)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [download.final.name]


def test_registry_slow_ranges_open_more_connections(serve: Any, tmp_path: Path) -> None:
    data = os.urandom(8 << 20)  # ranges finish out of order; the hash must still cover each byte once
    srv = serve(data, delay=1.2)  # no range finishes in the first two 0.5 s ticks: 1, 2, then 4 streams
    start = time.monotonic()
    download = _download(srv, tmp_path, part_size=1 << 20)
    elapsed = time.monotonic() - start
    assert download.final.read_bytes() == data
    assert len(srv.ranges) == 8 and srv.peak >= 4
    assert elapsed < 8 * 1.2 * 0.6  # well under fetching the ranges one after another


def test_registry_resume_hashes_saved_bytes_and_streams_the_rest(serve: Any, tmp_path: Path) -> None:
    data = os.urandom(6 << 20)
    cut = 3_000_001
    srv = serve(data, cuts=[cut, 0])  # the first answer stops at the cut, the retry sends nothing
    with pytest.raises(RegistryError):
        _download(srv, tmp_path, retries=0)
    assert not (tmp_path / f"sha256-{srv.digest[7:]}").exists()
    srv.ranges.clear()
    download = _download(srv, tmp_path, retries=0)  # a new download: continues after the saved bytes
    assert srv.ranges == [f"bytes={cut}-{len(data) - 1}"]
    assert download.final.read_bytes() == data


def test_registry_wrong_bytes_after_resume_are_rejected(serve: Any, tmp_path: Path) -> None:
    data = os.urandom(5 << 20)
    srv = serve(data, cuts=[2 << 20, 0])
    with pytest.raises(RegistryError):
        _download(srv, tmp_path, retries=0)
    srv.data = data[:-1] + bytes([data[-1] ^ 1])  # the rest now differs from the promised digest
    opts = RegistryOptions(insecure=True, backoff=0, retries=0)
    with RegistryClient(srv.host, scheme="http", options=opts) as client:
        download = BlobDownload(client, REPO, srv.digest, len(data), tmp_path, lambda n: None)
        download.prepare()
        assert download.resumed_bytes() == 2 << 20
        with pytest.raises(RegistryError, match="digest mismatch"):
            download.run()
    assert list(tmp_path.iterdir()) == []  # neither the blob nor any partial state


def test_registry_proxied_download_goes_through_httpx(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[bool] = []

    def fake_proxied(url: httpx.URL, trust_env: bool) -> bool:
        used.append(True)
        return True

    monkeypatch.setattr(client_module, "proxied", fake_proxied)
    data = os.urandom(5 << 20)
    srv = serve(data, cuts=[1_234_567])
    download = _download(srv, tmp_path, part_size=3 << 20)
    assert used and download.final.read_bytes() == data
    assert srv.ranges == ["bytes=0-3145727", "bytes=1234567-3145727", f"bytes=3145728-{len(data) - 1}"]


def test_registry_environment_proxy_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    url = httpx.URL("https://registry.example/v2/")
    assert not proxied(url, trust_env=True)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert proxied(url, trust_env=True)
    assert not proxied(url, trust_env=False)
    assert not proxied(httpx.URL("http://registry.example/v2/"), trust_env=True)
    monkeypatch.setenv("NO_PROXY", "registry.example")
    assert not proxied(url, trust_env=True)


def test_registry_checkpoint_claims_only_synced_bytes(tmp_path: Path) -> None:
    progress = [10]
    commits: list[list[int]] = []
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:

        def snapshot() -> list[int]:
            state = list(progress)
            progress[0] += 5  # bytes written while the sync runs are not claimed by this round
            return state

        syncer = BackgroundSync(fd, snapshot, commits.append)
        syncer.kick()
        deadline = time.monotonic() + 10
        while not commits and time.monotonic() < deadline:
            time.sleep(0.01)
        syncer.stop()
    finally:
        os.close(fd)
    assert commits[0] == [10]
