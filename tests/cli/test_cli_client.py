"""The HTTP client: base URL from the environment, error mapping, streams, blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fake_ollama import FakeOllama

from corral.cli.client import Client, ResponseError, ServerUnreachable, client_base_url
from corral.core.config import parse_host


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("[::]:9000", "http://[::1]:9000"),
        ("https://example.com", "https://example.com:443"),
        ("localhost:1234", "http://localhost:1234"),
    ],
)
def test_client_base_url(raw: str, url: str) -> None:
    assert client_base_url(parse_host(raw)) == url


def test_base_url_from_environment_with_ollama_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_HOST", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:5555")
    assert client_base_url() == "http://127.0.0.1:5555"
    monkeypatch.setenv("CORRAL_HOST", "127.0.0.2:6666")
    assert client_base_url() == "http://127.0.0.2:6666"


def test_unreachable_server(dead_host: str) -> None:
    with Client(dead_host) as client:
        assert client.heartbeat() is False
        with pytest.raises(ServerUnreachable) as info:
            client.list_models()
        with pytest.raises(ServerUnreachable):
            list(client.pull("x"))
    assert dead_host in str(info.value)
    assert "corral serve" in str(info.value)


def test_error_field_becomes_message(fake_server: FakeOllama) -> None:
    with Client(fake_server.base_url) as client:
        with pytest.raises(ResponseError) as info:
            client.show("nope")
        assert (info.value.status, info.value.message) == (404, "model 'nope:latest' not found")
        fake_server.fail[("GET", "/api/tags")] = (500, "upstream exploded")
        with pytest.raises(ResponseError, match=r"^upstream exploded$"):
            client.list_models()
        fake_server.fail[("GET", "/api/tags")] = (503, "")
        with pytest.raises(ResponseError, match=r"^503 Service Unavailable$"):
            client.list_models()


def test_stream_error_line_raises_after_earlier_events(fake_server: FakeOllama) -> None:
    seen = []
    with Client(fake_server.base_url) as client, pytest.raises(ResponseError) as info:
        for event in client.pull("missing"):
            seen.append(event)
    assert seen == [{"status": "pulling manifest"}]
    assert info.value.message == "pull model manifest: file does not exist"


def test_blob_head_and_streamed_upload(fake_server: FakeOllama, tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # several upload chunks
    path = tmp_path / "w.gguf"
    path.write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    progressed: list[int] = []
    with Client(fake_server.base_url) as client:
        assert client.blob_exists(digest) is False
        client.upload_blob(digest, path, on_progress=progressed.append)
        assert client.blob_exists(digest) is True
        with pytest.raises(ResponseError, match="digest mismatch"):
            client.upload_blob("sha256:" + "0" * 64, path)
    assert fake_server.blobs[digest] == data
    assert sum(progressed) == len(data)


def test_copy_delete_version(fake_server: FakeOllama) -> None:
    fake_server.add_model("a")
    with Client(fake_server.base_url) as client:
        assert client.version() == fake_server.version
        client.copy("a", "b")
        client.delete("a")
        assert [m["name"] for m in client.list_models()] == ["b:latest"]
    assert fake_server.bodies[-2] == ("/api/delete", {"model": "a"})


def test_garbage_body_is_an_error_not_a_crash(fake_server: FakeOllama) -> None:
    fake_server.fail[("GET", "/api/version")] = (200, "<html>not json</html>")
    with Client(fake_server.base_url) as client, pytest.raises(ResponseError, match="invalid response"):
        client.version()
