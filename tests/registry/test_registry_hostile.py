"""A hostile or broken registry (a small server in the test): bad manifests, bad blobs, auth tricks."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from corral.core.digest import sha256_digest
from tests.conftest import LiveServer

Reply = tuple[int, dict[str, str], bytes]
HEX = "a" * 64
MANIFEST_PATH = "/v2/library/evil/manifests/latest"


@dataclass
class Fake:
    """A scripted HTTP server: ``routes[path](headers) -> (status, headers, body)``."""

    routes: dict[str, Callable[[dict[str, str]], Reply]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    host: str = ""


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.seen.append((self.command, self.path, headers))
            route = fake.routes.get(self.path.split("?")[0])
            status, extra, body = route(headers) if route else (404, {}, b'{"errors":[]}')
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = _serve

    return Handler


@pytest.fixture
def fakes() -> Iterator[Callable[[], Fake]]:
    started: list[ThreadingHTTPServer] = []

    def start() -> Fake:
        fake = Fake()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
        server.daemon_threads = True
        fake.host = f"127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return fake

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def _json(doc: object, media: str = "application/vnd.docker.distribution.manifest.v2+json") -> Reply:
    return 200, {"Content-Type": media}, json.dumps(doc).encode()


def _manifest(layers: list[dict[str, Any]], config: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "layers": layers,
    }
    if config is not None:
        doc["config"] = config
    return doc


def _layer(digest: str, size: int = 10, media: str = "application/vnd.ollama.image.model") -> dict[str, Any]:
    return {"mediaType": media, "digest": digest, "size": size}


CONFIG = _layer("sha256:" + "b" * 64, 10, "application/vnd.docker.container.image.v1+json")


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _bomb() -> Reply:
    body = gzip.compress(b" " * (8 << 20), compresslevel=6)
    headers = {
        "Content-Type": "application/vnd.docker.distribution.manifest.v2+json",
        "Content-Encoding": "gzip",
    }
    return 200, headers, body


HOSTILE: dict[str, tuple[Callable[[], Reply], str]] = {
    "traversal": (
        lambda: _json(_manifest([_layer("../../../../sentinel")], CONFIG)),
        "invalid digest format",
    ),
    "traversal-dash": (
        lambda: _json(_manifest([_layer(f"../sha256-{HEX}")], CONFIG)),
        "invalid digest format",
    ),
    "traversal-config": (
        lambda: _json(_manifest([_layer("sha256:" + HEX)], _layer("sha256:../../x"))),
        "invalid digest format",
    ),
    "short-digest": (lambda: _json(_manifest([_layer("sha256-45640291")], CONFIG)), "invalid digest format"),
    "long-digest": (
        lambda: _json(_manifest([_layer("sha256:" + "a" * 74)], CONFIG)),
        "invalid digest format",
    ),
    "no-layers": (lambda: _json(_manifest([], CONFIG)), "no layers"),
    "no-config": (lambda: _json(_manifest([_layer("sha256:" + HEX)])), "invalid manifest"),
    "negative-size": (lambda: _json(_manifest([_layer("sha256:" + HEX, -1)], CONFIG)), "invalid layer size"),
    "huge-size": (lambda: _json(_manifest([_layer("sha256:" + HEX, 2**63)], CONFIG)), "invalid"),
    "bad-media": (lambda: _json(_manifest([_layer("sha256:" + HEX, 1, "../../x")], CONFIG)), "media type"),
    "not-json": (lambda: (200, {}, b"<html>hello</html>"), "invalid manifest"),
    "json-array": (lambda: (200, {}, b"[1, 2, 3]"), "invalid manifest"),
    "index": (
        lambda: _json(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
        ),
        "invalid manifest",
    ),
    "oversized": (lambda: (200, {}, b'{"pad":"' + b"x" * (5 << 20) + b'"}'), "larger than"),
    "gzip-bomb": (_bomb, "larger than"),
}


def test_registry_hostile_manifests_are_rejected(
    live_server: LiveServer, fakes: Callable[[], Fake], tmp_path: Path
) -> None:
    # One server for every case (each case is a fresh fake registry): keeps the test fast.
    sentinel = tmp_path / "sentinel"
    sentinel.write_text("keep")
    before = _tree(tmp_path) | {"models", "models/blobs", "models/manifests"}
    for case, (reply, expected) in sorted(HOSTILE.items()):
        fake = fakes()
        fake.routes[MANIFEST_PATH] = lambda h, reply=reply: reply()  # type: ignore[misc]
        name = f"{fake.host}/library/evil:latest"
        r = live_server.client.post("/api/pull", json={"model": name, "insecure": True, "stream": False})
        assert r.status_code == 500, case
        assert expected in r.json()["error"], case
        r = live_server.client.post("/api/pull", json={"model": name, "insecure": True})
        assert r.status_code == 200 and expected in json.loads(r.text.splitlines()[-1])["error"], case
        # Nothing touched: no blob was requested, nothing new on disk, the server still answers.
        assert [s for s in fake.seen if "/blobs/" in s[1]] == [], case
        assert sentinel.read_text() == "keep"
        assert _tree(tmp_path) <= before, case
        assert live_server.client.get("/api/tags").json() == {"models": []}


def _serve_model(fake: Fake, gguf: bytes, served: bytes) -> str:
    digest = sha256_digest(gguf)
    config = b'{"model_format":"gguf"}'
    fake.routes[MANIFEST_PATH] = lambda h: _json(
        _manifest(
            [_layer(digest, len(gguf))],
            _layer(sha256_digest(config), len(config), "application/vnd.docker.container.image.v1+json"),
        )
    )
    fake.routes[f"/v2/library/evil/blobs/{digest}"] = lambda h: (200, {}, served)
    fake.routes[f"/v2/library/evil/blobs/{sha256_digest(config)}"] = lambda h: (200, {}, config)
    return digest


BAD_BLOBS = {
    "corrupt": (b"GGUF" + b"\x00" * 996, "digest mismatch, file must be downloaded again"),
    "too-long": (b"GGUF" + b"\x01" * 2000, "larger than"),
    "too-short": (b"GGUF", "Range"),  # short, then the whole blob again instead of the rest
}


def test_registry_corrupted_blob_is_rejected_and_nothing_written(
    live_server: LiveServer, fakes: Callable[[], Fake]
) -> None:
    for case, (served, expected) in BAD_BLOBS.items():
        fake = fakes()
        _serve_model(fake, b"GGUF" + b"\x07" * 996, served)
        name = f"{fake.host}/library/evil:latest"
        r = live_server.client.post("/api/pull", json={"model": name, "insecure": True, "stream": False})
        assert r.status_code == 500 and expected in r.json()["error"], case
        blobs = live_server.models / "blobs"
        assert not blobs.exists() or list(blobs.iterdir()) == [], case
        assert live_server.client.get("/api/tags").json() == {"models": []}


def test_registry_bearer_realm_on_another_host_is_refused(
    live_server: LiveServer, fakes: Callable[[], Fake]
) -> None:
    fake, evil = fakes(), fakes()
    challenge = f'Bearer realm="http://{evil.host}/token",service="x",scope="repository:library/evil:pull"'
    fake.routes[MANIFEST_PATH] = lambda h: (401, {"WWW-Authenticate": challenge}, b"")
    r = live_server.client.post(
        "/api/pull",
        json={
            "model": f"{fake.host}/library/evil:latest",
            "insecure": True,
            "stream": False,
            "username": "u",
            "password": "secret",
        },
    )
    assert r.status_code == 500 and "does not match" in r.json()["error"]
    assert evil.seen == []


def test_registry_bearer_token_redirect_and_basic_auth(
    live_server: LiveServer, fakes: Callable[[], Fake]
) -> None:
    fake, storage = fakes(), fakes()
    gguf = b"GGUF" + b"\x05" * 500
    digest = _serve_model(fake, gguf, gguf)
    challenge = f'Bearer realm="http://{fake.host}/token",service="reg",scope="repository:library/evil:pull"'
    guarded = dict(fake.routes)

    def guard(route: Callable[[dict[str, str]], Reply]) -> Callable[[dict[str, str]], Reply]:
        def check(h: dict[str, str]) -> Reply:
            if h.get("authorization") != "Bearer tok-1":
                return 401, {"WWW-Authenticate": challenge}, b""
            return route(h)

        return check

    fake.routes = {path: guard(route) for path, route in guarded.items()}
    fake.routes["/token"] = lambda h: (200, {}, b'{"token":"tok-1"}')
    # The GGUF is served by a "storage" host the registry redirects to.
    fake.routes[f"/v2/library/evil/blobs/{digest}"] = guard(
        lambda h: (307, {"Location": f"http://{storage.host}/data/blob"}, b"")
    )
    storage.routes["/data/blob"] = lambda h: (200, {}, gguf)
    r = live_server.client.post(
        "/api/pull", json={"model": f"{fake.host}/library/evil:latest", "insecure": True, "stream": False}
    )
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    assert [s[1] for s in storage.seen] == ["/data/blob"]
    assert "authorization" not in storage.seen[0][2]  # the token never leaves the registry's host
    token_requests = [s for s in fake.seen if s[1].startswith("/token")]
    assert token_requests and "service=reg" in token_requests[0][1]

    # Basic auth: credentials from the (deprecated) pull fields.
    basic = fakes()
    _serve_model(basic, gguf, gguf)

    def need_basic(route: Callable[[dict[str, str]], Reply]) -> Callable[[dict[str, str]], Reply]:
        def check(h: dict[str, str]) -> Reply:
            if h.get("authorization") != "Basic dTpwdw==":  # u:pw
                return 401, {"WWW-Authenticate": 'Basic realm="r"'}, b""
            return route(h)

        return check

    basic.routes = {path: need_basic(route) for path, route in basic.routes.items()}
    name = f"{basic.host}/library/evil:latest"
    body = {"model": name, "insecure": True, "stream": False}
    r = live_server.client.post("/api/pull", json=body)
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized: access denied")
    r = live_server.client.post("/api/pull", json={**body, "username": "u", "password": "pw"})
    assert (r.status_code, r.json()) == (200, {"status": "success"})
