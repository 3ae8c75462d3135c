"""A registry that serves one model and sends its weights one byte at a time (fault injection).

Bounded: each blob response stops after ``limit_s`` seconds or when :meth:`TrickleRegistry.stop`
is called; it binds 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["TrickleRegistry"]

_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class TrickleRegistry:
    """``with TrickleRegistry() as reg: reg.name`` is a pullable ``127.0.0.1:PORT/lib/slow`` (insecure)."""

    def __init__(self, weights: bytes, *, byte_every_s: float = 0.2, limit_s: float = 120.0) -> None:
        self.weights = weights
        self.byte_every_s = byte_every_s
        self.limit_s = limit_s
        self.stopped = threading.Event()
        config = json.dumps({"model_format": "gguf", "model_family": "llama"}).encode()
        self.blobs = {self._digest(config): config, self._digest(weights): weights}
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": _MANIFEST_TYPE,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "digest": self._digest(config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.ollama.image.model",
                        "digest": self._digest(weights),
                        "size": len(weights),
                    }
                ],
            }
        ).encode()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.name = f"127.0.0.1:{self.server.server_address[1]}/lib/slow"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def __enter__(self) -> TrickleRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop trickling and serving."""
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self.do_GET(head=True)

            def do_GET(self, head: bool = False) -> None:
                if self.path.endswith("/manifests/latest"):
                    self._send(200, registry.manifest, _MANIFEST_TYPE, head)
                    return
                digest = self.path.rsplit("/", 1)[-1]
                blob = registry.blobs.get(digest)
                if blob is None:
                    self._send(404, b'{"errors": []}', "application/json", head)
                    return
                start, end = 0, len(blob) - 1
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes="):
                    first, _, last = ranged[6:].partition("-")
                    start, end = int(first), int(last or end)
                body = blob[start : end + 1]
                self.send_response(206 if ranged else 200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                if ranged:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(blob)}")
                self.end_headers()
                if head:
                    return
                if blob is not registry.weights:
                    self.wfile.write(body)
                    return
                deadline = time.monotonic() + registry.limit_s
                for i in range(len(body)):
                    if registry.stopped.is_set() or time.monotonic() > deadline:
                        return
                    try:
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(registry.byte_every_s)

            def _send(self, status: int, body: bytes, ctype: str, head: bool) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        return Handler
