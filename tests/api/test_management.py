"""Model-management endpoints over real HTTP: status codes, bodies and error strings as Ollama's."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer


def upload(client: httpx.Client, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = client.post(f"/api/blobs/{digest}", content=data)
    assert r.status_code in (200, 201), r.text
    return digest


def ndjson(r: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> bytes:
    return write_tiny_gguf(tmp_path / "tiny.gguf", seed=1).read_bytes()


def create_tiny(client: httpx.Client, name: str, gguf: bytes, **extra: Any) -> list[dict[str, Any]]:
    digest = upload(client, gguf)
    r = client.post("/api/create", json={"model": name, "files": {"tiny.gguf": digest}, **extra})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    return ndjson(r)


def test_root_and_version(live_server: LiveServer) -> None:
    c = live_server.client
    r = c.get("/")
    assert (r.status_code, r.text) == (200, "Ollama is running")
    assert r.headers["content-type"].startswith("text/plain")
    assert c.head("/").status_code == 200
    v = c.get("/api/version")
    assert v.status_code == 200 and isinstance(v.json()["version"], str)


def test_unknown_route_and_wrong_method(live_server: LiveServer) -> None:
    c = live_server.client
    r = c.get("/api/nope")
    assert (r.status_code, r.text) == (404, "404 page not found")
    r = c.get("/api/create")
    assert (r.status_code, r.text) == (405, "405 method not allowed")


def test_empty_store_lists_nothing(live_server: LiveServer) -> None:
    r = live_server.client.get("/api/tags")
    assert r.status_code == 200
    assert r.json() == {"models": []}
    assert r.headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/show", b"", "missing request body"),
        ("/api/show", b"null", "model is required"),
        (
            "/api/show",
            b'{"model": 5}',
            "json: cannot unmarshal number into Go struct field ShowRequest.model of type string",
        ),
        ("/api/show", b'{"model": ', "unexpected EOF"),
        ("/api/copy", b"", "missing request body"),
        ("/api/create", b"{}", "invalid model name"),
        ("/api/create", b'{"model": "x"}', "neither 'from' or 'files' was specified"),
        ("/api/pull", b'{"model": "../../etc/passwd"}', "invalid model name"),
    ],
)
def test_request_errors(live_server: LiveServer, path: str, body: bytes, message: str) -> None:
    r = live_server.client.post(path, content=body)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": message}


def test_blob_upload_and_head(live_server: LiveServer) -> None:
    c = live_server.client
    data = b"hello blob"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert c.head(f"/api/blobs/{digest}").status_code == 404
    assert c.post(f"/api/blobs/{digest}", content=data).status_code == 201
    assert c.post(f"/api/blobs/{digest}", content=data).status_code == 200
    assert c.head(f"/api/blobs/{digest}").status_code == 200
    assert c.head("/api/blobs/sha256-" + digest[7:]).status_code == 200
    assert (live_server.models / "blobs" / ("sha256-" + digest[7:])).read_bytes() == data


def test_blob_digest_mismatch_and_bad_digest(live_server: LiveServer) -> None:
    c = live_server.client
    wrong = "sha256:" + "0" * 64
    r = c.post(f"/api/blobs/{wrong}", content=b"other bytes")
    assert r.status_code == 400
    actual = "sha256:" + hashlib.sha256(b"other bytes").hexdigest()
    assert r.json() == {"error": f'digest mismatch, expected "{wrong}", got "{actual}"'}
    assert not any((live_server.models / "blobs").iterdir())
    for bad in ("sha256:1234", "sha256-" + "a" * 74, "..%2F..%2Fetc%2Fpasswd", "md5:" + "a" * 64):
        r = c.head(f"/api/blobs/{bad}")
        assert r.status_code in (400, 404), bad
        r = c.post(f"/api/blobs/{bad}", content=b"x")
        assert r.status_code in (400, 404), bad
        if r.status_code == 400:
            assert r.json() == {"error": "invalid digest format"}


def test_create_show_list_copy_delete(live_server: LiveServer, tiny_gguf: bytes) -> None:
    c = live_server.client
    statuses = [
        line["status"]
        for line in create_tiny(
            c,
            "tiny",
            tiny_gguf,
            template="{{ .Prompt }}",
            system="be brief",
            parameters={"temperature": 0.5},
            messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            license="MIT",
        )
    ]
    assert statuses[0] == "parsing GGUF"
    assert statuses[-2:] == ["writing manifest", "success"]
    assert any(s.startswith("creating new layer sha256:") for s in statuses)

    tags = c.get("/api/tags").json()["models"]
    assert [m["name"] for m in tags] == ["tiny:latest"]
    entry = tags[0]
    assert entry["model"] == "tiny:latest" and len(entry["digest"]) == 64
    assert entry["details"]["format"] == "gguf" and entry["details"]["family"] == "llama"
    assert entry["size"] > len(tiny_gguf)

    show = c.post("/api/show", json={"model": "tiny"}).json()
    assert show["system"] == "be brief"
    assert show["template"] == "{{ .Prompt }}"
    assert show["license"] == "MIT"
    assert show["messages"] == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert show["parameters"].split() == ["temperature", "0.5"]
    assert show["capabilities"] == ["completion"]
    assert show["model_info"]["general.architecture"] == "llama"
    assert "general.name" not in show["model_info"]
    assert show["modelfile"].startswith('# Modelfile generated by "ollama show"')
    assert "FROM " + str(live_server.models / "blobs") in show["modelfile"]

    assert c.post("/api/copy", json={"source": "tiny", "destination": "tiny2:v1"}).status_code == 200
    names = sorted(m["name"] for m in c.get("/api/tags").json()["models"])
    assert names == ["tiny2:v1", "tiny:latest"]

    blobs_before = set(os.listdir(live_server.models / "blobs"))
    r = c.request("DELETE", "/api/delete", json={"model": "tiny"})
    assert (r.status_code, r.content) == (200, b"")
    assert set(os.listdir(live_server.models / "blobs")) == blobs_before  # still used by tiny2:v1
    assert c.request("DELETE", "/api/delete", json={"model": "tiny2:v1"}).status_code == 200
    assert os.listdir(live_server.models / "blobs") == []
    assert c.get("/api/tags").json() == {"models": []}


def test_not_found_messages(live_server: LiveServer) -> None:
    c = live_server.client
    r = c.post("/api/show", json={"model": "nope"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'nope:latest' not found"})
    r = c.post("/api/copy", json={"source": "nope", "destination": "b"})
    assert (r.status_code, r.json()) == (404, {"error": 'model "nope" not found'})
    r = c.request("DELETE", "/api/delete", json={"model": "nope"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'nope' not found"})
    r = c.request("DELETE", "/api/delete", json={"model": ""})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/../../b", "-x", ".x", "h/na.me/m:t", "h/n/m:-t"])
def test_traversal_names_are_refused_without_oracle(
    live_server: LiveServer, bad: str, tmp_path: Path
) -> None:
    c = live_server.client
    r = c.post("/api/create", json={"model": bad, "from": "tiny"})
    assert (r.status_code, r.json()) == (400, {"error": "invalid model name"})
    r = c.post("/api/pull", json={"model": bad})
    assert (r.status_code, r.json()) == (400, {"error": "invalid model name"})
    r = c.post("/api/copy", json={"source": "x", "destination": bad})
    assert (r.status_code, r.json()) == (400, {"error": f'destination "{bad}" is invalid'})
    r = c.request("DELETE", "/api/delete", json={"model": bad})
    assert (r.status_code, r.json()) == (400, {"error": f'name "{bad}" is invalid'})
    assert not (live_server.models / "manifests").exists() or not any(
        p.is_file() for p in (live_server.models / "manifests").rglob("*")
    )


def test_create_rejects_bad_files(live_server: LiveServer, tiny_gguf: bytes) -> None:
    c = live_server.client
    digest = upload(c, tiny_gguf)
    for path in ("/etc/passwd", "../x.gguf", "a/../../x.gguf", "C:\\x.gguf"):
        r = c.post("/api/create", json={"model": "m", "files": {path: digest}})
        assert (r.status_code, r.json()) == (400, {"error": "file path must be relative"}), path
    r = c.post("/api/create", json={"model": "m", "files": {"m.gguf": ""}})
    assert (r.status_code, r.json()) == (400, {"error": "invalid digest format"})
    r = c.post("/api/create", json={"model": "m", "path": "/dev/zero"})
    assert r.status_code == 400


def test_create_with_malformed_gguf_fails_cleanly(live_server: LiveServer) -> None:
    c = live_server.client
    digest = upload(c, b"GGUF")
    r = c.post("/api/create", json={"model": "m", "files": {"m.gguf": digest}, "stream": False})
    assert r.status_code == 400
    assert "error" in r.json()
    assert c.get("/api/tags").json() == {"models": []}
    assert c.get("/").status_code == 200


def test_create_from_existing_model_and_template_error(live_server: LiveServer, tiny_gguf: bytes) -> None:
    c = live_server.client
    create_tiny(c, "base", tiny_gguf)
    r = c.post("/api/create", json={"model": "derived", "from": "base", "system": "pirate", "stream": False})
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    show = c.post("/api/show", json={"model": "derived"}).json()
    assert show["system"] == "pirate"
    assert show["details"]["parent_model"] == "base:latest"
    r = c.post("/api/create", json={"model": "bad", "from": "base", "template": "{{ .Prompt"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("template error:")


def test_host_header_check(live_server: LiveServer) -> None:
    c = live_server.client
    assert c.get("/", headers={"Host": "evil.com"}).status_code == 403
    for ok in ("localhost:11434", "127.0.0.1", "foo.localhost", "box.local", "10.0.0.5:11434"):
        assert c.get("/", headers={"Host": ok}).status_code == 200, ok


def test_cors(live_server: LiveServer) -> None:
    c = live_server.client
    r = c.get("/api/version", headers={"Origin": "http://localhost:3000"})
    assert r.headers.get("access-control-allow-origin") == "http://localhost:3000"
    r = c.get("/api/version", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_openapi_schema_published(live_server: LiveServer) -> None:
    r = live_server.client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"/api/tags", "/api/show", "/api/create", "/api/pull"} <= set(paths)
