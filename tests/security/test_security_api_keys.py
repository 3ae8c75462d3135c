"""API keys with roles over real HTTP and the real SDKs (SECURITY.md row 18; issue 17 item 2).

``inference`` keys may generate, chat, embed, list and show; ``admin`` keys may also pull, push,
create, copy, delete and upload blobs. Refusals come in the shape of the client's dialect.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import ollama
import openai
import pytest

from corral.core.config import Secret
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, _Servers

INF = "inf-9f2c1d7e"
ADM = "adm-5b8e0a44"

pytestmark = pytest.mark.integration


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keyed(servers: _Servers, tmp_path: Path) -> LiveServer:
    """A server that requires keys, holding the tiny model ``tiny`` (created with the admin key)."""
    live = servers.start(api_keys=Secret(f"{INF}, {ADM}:admin"))
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf", seed=3).read_bytes()
    digest = "sha256:" + hashlib.sha256(gguf).hexdigest()
    assert live.client.post(f"/api/blobs/{digest}", content=gguf, headers=bearer(ADM)).status_code == 201
    r = live.client.post(
        "/api/create",
        json={"model": "tiny", "files": {"tiny.gguf": digest}, "stream": False},
        headers=bearer(ADM),
    )
    assert r.status_code == 200, r.text
    return live


def test_open_paths_and_refusals_in_each_dialect(keyed: LiveServer) -> None:
    c = keyed.client
    for path in ("/", "/health", "/ready"):
        assert c.get(path).status_code == 200, path
    # Ollama's shape.
    r = c.get("/api/tags")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.json() == {"error": "missing API key: send 'Authorization: Bearer KEY'"}
    assert c.get("/api/tags", headers=bearer("wrong")).json() == {"error": "invalid API key"}
    assert c.get("/metrics").status_code == 401
    assert c.get("/api/no-such-route").status_code == 401  # unmatched routes reveal nothing either
    # OpenAI's shape.
    r = c.get("/v1/models", headers=bearer("wrong"))
    assert r.status_code == 401
    assert r.json()["error"] == {
        "message": "invalid API key",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    # Anthropic's shape, and its x-api-key header.
    r = c.post("/v1/messages", json={}, headers={"x-api-key": "wrong"})
    assert r.status_code == 401
    assert r.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid API key"},
    }
    r = c.post("/v1/messages", json={}, headers={"x-api-key": INF})
    assert r.status_code != 401


def test_roles(keyed: LiveServer) -> None:
    c = keyed.client
    for key in (INF, ADM):
        assert c.get("/api/tags", headers=bearer(key)).status_code == 200
        assert c.post("/api/show", json={"model": "tiny"}, headers={"x-api-key": key}).status_code == 200
        r = c.post(
            "/api/generate",
            json={"model": "tiny", "prompt": "hi", "stream": False, "options": {"num_predict": 2}},
            headers=bearer(key),
        )
        assert r.status_code == 200 and r.json()["done"] is True
    management = [
        ("POST", "/api/copy", {"source": "tiny", "destination": "copy"}),
        ("DELETE", "/api/delete", {"model": "tiny"}),
        ("POST", "/api/create", {"model": "x", "from": "tiny"}),
        ("POST", "/api/pull", {"model": "all-minilm"}),
        ("POST", "/api/push", {"model": "127.0.0.1:9/x/tiny", "insecure": True}),
        ("HEAD", "/api/blobs/sha256:" + "0" * 64, None),
        ("POST", "/api/blobs/sha256:" + "0" * 64, None),
    ]
    for method, path, body in management:
        r = c.request(method, path, json=body, headers=bearer(INF))
        assert r.status_code == 403, path
        if method != "HEAD":
            assert r.json() == {"error": f"this API key may not call {path} (needs the admin role)"}
    assert [m["name"] for m in c.get("/api/tags", headers=bearer(INF)).json()["models"]] == ["tiny:latest"]
    assert (
        c.post("/api/copy", json={"source": "tiny", "destination": "copy"}, headers=bearer(ADM)).status_code
        == 200
    )
    r = c.get("/v1/models", headers=bearer(INF))
    assert {m["id"] for m in r.json()["data"]} == {"tiny:latest", "copy:latest"}


def test_metrics_public_setting(servers: _Servers) -> None:
    live = servers.start(api_keys=Secret(INF), metrics_public=True)
    assert live.client.get("/metrics").status_code == 200
    assert live.client.get("/api/tags").status_code == 401


def test_openai_sdk(keyed: LiveServer) -> None:
    def client(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=keyed.base_url + "/v1", api_key=key, max_retries=0)

    with pytest.raises(openai.AuthenticationError) as err:
        client("wrong").models.list()
    assert err.value.status_code == 401 and err.value.code == "invalid_api_key"
    reply = client(INF).chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=2
    )
    assert reply.choices[0].finish_reason == "length"
    assert [m.id for m in client(INF).models.list()] == ["tiny:latest"]


def test_ollama_python_headers(keyed: LiveServer) -> None:
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=keyed.base_url).list()
    assert err.value.status_code == 401 and "missing API key" in err.value.error
    inference = ollama.Client(host=keyed.base_url, headers=bearer(INF))
    assert [m.model for m in inference.list().models] == ["tiny:latest"]
    assert inference.generate(model="tiny", prompt="hi", options={"num_predict": 2}).done
    with pytest.raises(ollama.ResponseError) as err:
        inference.copy("tiny", "stolen")
    assert err.value.status_code == 403 and "admin role" in err.value.error
    admin = ollama.Client(host=keyed.base_url, headers=bearer(ADM))
    admin.copy("tiny", "mine")
    admin.delete("mine")
    assert [m.model for m in admin.list().models] == ["tiny:latest"]


def test_anthropic_sdk_refusal_shape(keyed: LiveServer) -> None:
    client = anthropic.Anthropic(base_url=keyed.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as err:
        client.messages.create(model="tiny", max_tokens=4, messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 401
    assert err.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid API key"},
    }


@pytest.fixture
def key_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "keys"
    path.write_text(f"# team keys\n{INF}\n\n{ADM}:admin\nbroken:superuser\n")
    yield path


def test_key_file_is_reloaded_on_change(servers: _Servers, key_file: Path) -> None:
    live = servers.start(api_keys_file=key_file)
    c = live.client
    assert c.get("/api/tags", headers=bearer(INF)).status_code == 200
    assert c.head("/api/blobs/sha256:" + "0" * 64, headers=bearer(ADM)).status_code == 404
    assert c.get("/api/tags", headers=bearer("broken")).status_code == 401  # bad role: entry ignored
    key_file.write_text("fresh-key:admin\n")
    deadline = time.monotonic() + 10
    while c.get("/api/tags", headers=bearer("fresh-key")).status_code != 200:
        assert time.monotonic() < deadline, "the changed key file was not picked up"
        time.sleep(0.2)
    assert c.get("/api/tags", headers=bearer(INF)).status_code == 401
    # A file that disappears keeps the keys already loaded (no lock-out, no open door).
    key_file.unlink()
    time.sleep(1.2)
    assert c.get("/api/tags", headers=bearer("fresh-key")).status_code == 200
    assert c.get("/api/tags").status_code == 401


def test_keys_never_logged(keyed: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c = keyed.client
    c.get("/api/tags", headers=bearer(INF))
    c.get("/api/tags", headers=bearer("guessed-key-123"))
    c.post("/api/copy", json={"source": "tiny", "destination": "z"}, headers=bearer(INF))
    c.post("/v1/chat/completions", json={"model": "tiny", "messages": []}, headers={"x-api-key": ADM})
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "path=/api/copy status=403" in text  # the refusals are logged...
    for key in (INF, ADM, "guessed-key-123"):
        assert key not in text  # ...but no key is
    assert INF not in repr(keyed.services.config) and ADM not in repr(keyed.services.config)


def test_cli_sends_corral_api_key(
    keyed: LiveServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from corral.cli.main import main

    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.setenv("CORRAL_HOST", keyed.base_url.removeprefix("http://"))
    monkeypatch.delenv("CORRAL_API_KEY", raising=False)
    assert main(["ls"]) != 0
    assert "missing API key" in capsys.readouterr().err
    monkeypatch.setenv("CORRAL_API_KEY", INF)
    assert main(["ls"]) == 0
    assert "tiny:latest" in capsys.readouterr().out
    assert main(["cp", "tiny", "other"]) != 0
    assert "admin role" in capsys.readouterr().err
    monkeypatch.setenv("CORRAL_API_KEY", ADM)
    assert main(["cp", "tiny", "other"]) == 0


def test_httpx_without_key_gets_401_on_a_stream_route(keyed: LiveServer) -> None:
    with httpx.stream("POST", keyed.base_url + "/api/chat", json={"model": "tiny", "messages": []}) as r:
        assert r.status_code == 401
