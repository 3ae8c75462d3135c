"""A stand-in Ollama server for CLI tests: imitates the endpoints the CLI calls, records traffic,
and injects faults. It runs on a real loopback socket (``serve_fake``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION = "0.1.0"


def _full(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


@dataclass
class FakeOllama:
    """State and recorded traffic of the stand-in server; tests edit it directly."""

    version: str = VERSION
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[tuple[str, Any]] = field(default_factory=list)
    pull_events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    """(method, path) → (status, raw body) returned instead of the normal answer."""
    base_url: str = ""

    def add_model(self, name: str, **fields: Any) -> None:
        entry: dict[str, Any] = {
            "name": _full(name),
            "model": _full(name),
            "modified_at": "2024-01-01T00:00:00Z",
            "size": 0,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {
                "format": "gguf",
                "family": "llama",
                "parameter_size": "1B",
                "quantization_level": "Q4_K_M",
            },
        }
        entry.update(fields)
        self.models[_full(name)] = entry

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r == (method, path))


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def fake(self) -> FakeOllama:
        return self.server.fake

    # -- helpers ---------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode())

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _stream(self, events: list[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Connection", "close")
        self.end_headers()
        for e in events:
            self.wfile.write(json.dumps(e).encode() + b"\n")
            self.wfile.flush()
        self.close_connection = True

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        path = self.path.split("?")[0]
        self.fake.requests.append((self.command, path))
        failure = self.fake.fail.get((self.command, path))
        if failure is not None:
            status, raw = failure
            self._body()
            self._send(status, raw.encode())
            return
        raw = self._body() if self.command in ("POST", "DELETE") else b""
        if path.startswith("/api/blobs/"):
            self._blob(path.removeprefix("/api/blobs/"), raw)
            return
        body: Any = json.loads(raw) if raw else None
        self.fake.bodies.append((path, body))
        route = {
            ("GET", "/"): self._root,
            ("HEAD", "/"): self._root,
            ("GET", "/api/version"): self._version,
            ("GET", "/api/tags"): self._tags,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/copy"): self._copy,
            ("DELETE", "/api/delete"): self._delete,
            ("POST", "/api/pull"): self._pull,
            ("POST", "/api/create"): self._create,
        }.get((self.command, path))
        if route is None:
            self._send(404, b"404 page not found", "text/plain")
        elif body is None and self.command in ("POST", "DELETE"):
            self._error(400, "missing request body")
        else:
            route(body)

    do_GET = do_HEAD = do_POST = do_DELETE = _dispatch

    # -- endpoints -------------------------------------------------------------------------------

    def _root(self, body: Any) -> None:
        self._send(200, b"Ollama is running", "text/plain; charset=utf-8")

    def _version(self, body: Any) -> None:
        self._json(200, {"version": self.fake.version})

    def _tags(self, body: Any) -> None:
        self._json(200, {"models": list(self.fake.models.values())})

    def _show(self, body: dict[str, Any]) -> None:
        name = _full(body.get("model", ""))
        entry = self.fake.models.get(name)
        if entry is None:
            self._error(404, f"model '{name}' not found")
            return
        show = {k: v for k, v in entry.get("show", {}).items()}
        show.setdefault("details", entry["details"])
        show.setdefault("model_info", {})
        show.setdefault("modified_at", entry["modified_at"])
        self._json(200, show)

    def _copy(self, body: dict[str, Any]) -> None:
        src = self.fake.models.get(_full(body["source"]))
        if src is None:
            self._error(404, f'model "{body["source"]}" not found')
            return
        dst = _full(body["destination"])
        self.fake.models[dst] = {**src, "name": dst, "model": dst}
        self._send(200)

    def _delete(self, body: dict[str, Any]) -> None:
        if self.fake.models.pop(_full(body.get("model", "")), None) is None:
            self._error(404, f"model '{body.get('model')}' not found")
            return
        self._send(200)

    def _pull(self, body: dict[str, Any]) -> None:
        name = body.get("model", "")
        events = self.fake.pull_events.get(name)
        if events is None:
            self._stream(
                [{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}]
            )
            return
        self._stream(events)
        self.fake.add_model(name)

    def _create(self, body: dict[str, Any]) -> None:
        for digest in (body.get("files") or {}).values():
            if digest not in self.fake.blobs:
                self._error(400, f"blob {digest} not found")
                return
        events = [{"status": "parsing GGUF"}] if body.get("files") else []
        events += [
            {"status": "using existing layer sha256:" + "a" * 64},
            {"status": "writing manifest"},
            {"status": "success"},
        ]
        self.fake.add_model(body["model"])
        self._stream(events)

    def _blob(self, digest: str, raw: bytes) -> None:
        if self.command == "HEAD":
            self._send(200 if digest in self.fake.blobs else 404)
        elif self.command == "POST":
            actual = "sha256:" + hashlib.sha256(raw).hexdigest()
            if actual != digest:
                self._error(400, f'digest mismatch, expected "{digest}", got "{actual}"')
                return
            existed = digest in self.fake.blobs
            self.fake.blobs[digest] = raw
            self._send(200 if existed else 201)
        else:
            self._send(405, b"405 method not allowed", "text/plain")


class FakeServer(ThreadingHTTPServer):
    """The stand-in on ``address`` (port 0: any free port); ``fake`` holds its state."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.fake = FakeOllama()
        self.fake.base_url = f"http://127.0.0.1:{self.server_address[1]}"
