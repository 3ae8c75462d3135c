"""Cross-site requests are refused before any handler runs (SECURITY.md rows 17, 18; issue 17 item 1).

A web page can make the user's browser send ``fetch(url, {mode: "no-cors", method: "POST", body})``:
no preflight, ``Content-Type: text/plain``, an ``Origin`` header the page cannot forge. These tests
send exactly that over HTTP to every mutating and inference route and check the store and the
loaded models did not change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, _Servers
from tests.security.security_support import create_tiny, loaded_models, store_snapshot

EVIL = "https://evil.example"
BLOB = b"exfiltrate me"
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()

# (method, path, body) a drive-by page would send, each of which would change something if served.
DRIVE_BYS: list[tuple[str, str, bytes]] = [
    ("POST", "/api/copy", b'{"source": "victim", "destination": "stolen"}'),
    ("DELETE", "/api/delete", b'{"model": "victim"}'),
    ("POST", "/api/create", b'{"model": "made", "from": "victim"}'),
    ("POST", "/api/pull", b'{"model": "all-minilm"}'),
    ("POST", "/api/push", b'{"model": "127.0.0.1:9/x/victim", "insecure": true}'),
    ("POST", f"/api/blobs/{BLOB_DIGEST}", BLOB),
    ("POST", "/api/generate", b'{"model": "victim", "prompt": "hi"}'),
    ("POST", "/api/chat", b'{"model": "victim", "messages": [{"role": "user", "content": "hi"}]}'),
    ("POST", "/api/embed", b'{"model": "victim", "input": "hi"}'),
    ("POST", "/api/embeddings", b'{"model": "victim", "prompt": "hi"}'),
    ("POST", "/v1/chat/completions", b'{"model": "victim", "messages": [{"role": "user", "content": "x"}]}'),
    ("POST", "/v1/completions", b'{"model": "victim", "prompt": "hi"}'),
    ("POST", "/v1/embeddings", b'{"model": "victim", "input": "hi"}'),
    ("POST", "/v1/messages", b'{"model": "victim", "max_tokens": 5, "messages": []}'),
    ("POST", "/v1/responses", b'{"model": "victim", "input": "hi"}'),
    ("POST", "/api/no-such-route", b"{}"),
]


@pytest.fixture
def victim(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    create_tiny(live_server.client, "victim", write_tiny_gguf(tmp_path / "t.gguf", seed=3).read_bytes())
    return live_server


@pytest.mark.parametrize(("method", "path", "body"), DRIVE_BYS, ids=[f"{m} {p}" for m, p, _ in DRIVE_BYS])
@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", "application/json"])
def test_disallowed_origin_is_refused_and_changes_nothing(
    victim: LiveServer, method: str, path: str, body: bytes, content_type: str
) -> None:
    before = store_snapshot(victim.models)
    r = victim.client.request(
        method, path, content=body, headers={"Origin": EVIL, "Content-Type": content_type}
    )
    assert r.status_code == 403, r.text
    assert "access-control-allow-origin" not in r.headers
    error = r.json()["error"]
    message = error if isinstance(error, str) else error["message"]
    assert "origin" in message and "not allowed" in message
    if path.startswith("/v1/messages"):
        assert r.json()["type"] == "error" and error["type"] == "permission_error"
    elif path.startswith("/v1/"):
        assert error["type"] == "invalid_request_error"
    assert store_snapshot(victim.models) == before
    assert loaded_models(victim) == []


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "PATCH"])
def test_every_method_is_refused(live_server: LiveServer, method: str) -> None:
    for path in ("/api/tags", "/api/version", "/v1/models", "/api/ps"):
        headers = {"Origin": "null"}
        if method == "OPTIONS":  # a CORS preflight
            headers["Access-Control-Request-Method"] = "POST"
        assert live_server.client.request(method, path, headers=headers).status_code == 403, path


def test_allowed_origins_and_clients_without_origin_work(victim: LiveServer) -> None:
    c = victim.client
    port = victim.base_url.rsplit(":", 1)[1]
    for origin in ("http://localhost:3000", "http://127.0.0.1", "app://x", "vscode-webview://abc"):
        r = c.post("/api/show", json={"model": "victim"}, headers={"Origin": origin})
        assert r.status_code == 200, origin
        assert r.headers["access-control-allow-origin"] == origin
    # A page served by corral itself (same origin) may post anything, as with gin-contrib/cors.
    same = f"http://127.0.0.1:{port}"
    r = c.post(
        "/api/copy",
        content=b'{"source": "victim", "destination": "same"}',
        headers={"Origin": same, "Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    # curl -d sends form encoding and no Origin; SDKs send JSON and no Origin: both work.
    r = c.post(
        "/api/copy",
        content=b'{"source": "victim", "destination": "curl"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    names = {m["name"] for m in c.get("/api/tags").json()["models"]}
    assert {"same:latest", "curl:latest"} <= names
    # A preflight from an allowed origin is answered with the CORS grant.
    r = c.options(
        "/api/chat",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_allowed_origin_without_preflight_content_type_is_refused(victim: LiveServer) -> None:
    """Even an allowed origin cannot skip the preflight: a no-cors body type gets 415 and does nothing."""
    before = store_snapshot(victim.models)
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"Origin": "http://localhost:8080"}
        if ctype:
            headers["Content-Type"] = ctype
        r = victim.client.post(
            "/api/copy", content=b'{"source": "victim", "destination": "x"}', headers=headers
        )
        assert r.status_code == 415, ctype
        assert "application/json" in r.json()["error"]
    assert store_snapshot(victim.models) == before


def test_configured_origins(servers: _Servers) -> None:
    live = servers.start(origins=("https://webui.example", "https://*.corp.example"))
    for origin, status in (
        ("https://webui.example", 200),
        ("https://a.corp.example", 200),
        ("https://webui.example.evil", 403),
        ("http://webui.example", 403),
        ("http://localhost:1", 200),  # the defaults stay allowed
    ):
        assert live.client.get("/api/tags", headers={"Origin": origin}).status_code == status, origin
    star = servers.start(origins=("*",))
    assert star.client.get("/api/tags", headers={"Origin": EVIL}).status_code == 200


def test_dns_rebinding_host_is_refused_on_every_route(live_server: LiveServer) -> None:
    for method, path in (("GET", "/api/tags"), ("POST", "/api/copy"), ("GET", "/api/nope"), ("GET", "/")):
        r = live_server.client.request(method, path, headers={"Host": "attacker.example:11434"})
        assert r.status_code == 403, path
