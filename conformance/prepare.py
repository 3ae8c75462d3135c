"""Setting up a transcript's preconditions on the server (models present or absent, blobs) and
building the exact request to send."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.mapping import SCRATCH_NAMESPACE, Bound
from conformance.transcripts import Transcript

__all__ = ["Preparer", "Request", "Unavailable", "needed_capabilities"]

_GENERATING = ("POST /api/generate", "POST /api/chat")
_OPENAI_GENERATING = {
    "POST /v1/chat/completions": "max_tokens",
    "POST /v1/completions": "max_tokens",
    "POST /v1/responses": "max_output_tokens",
    "POST /v1/messages": "max_tokens",
}
"""Generating endpoints outside /api and the field that caps their output."""
_FLAGS = {
    "insert": "--code-model",
    "vision": "--vision-model",
    "thinking": "--thinking-model",
    "tools": "--chat-model",
}
# Placeholders in transcripts that stand for data too large to keep in a file.
_PLACEHOLDERS = {"<very long text>": "why is the sky blue? " * 40_000}


class Unavailable(Exception):
    """A precondition cannot be met on this server; the message says why (a skip reason)."""


@dataclass
class Request:
    """The request to send, after mapping and preparation."""

    method: str
    path: str
    content: bytes | None
    headers: dict[str, str]
    json_body: Any = None
    """The JSON body as sent (for recording), or None."""
    renames: dict[str, str] = field(default_factory=dict)
    """Values to replace in the expected response (model names, digests)."""
    notes: list[str] = field(default_factory=list)


@dataclass
class Preparer:
    """Brings the server into the state a transcript needs, and undoes what it created."""

    client: httpx.Client
    chat_model: str = ""
    num_predict: int = 0
    created: set[str] = field(default_factory=set)
    _present: dict[str, str | None] = field(default_factory=dict)
    _capabilities: dict[str, frozenset[str] | None] = field(default_factory=dict)
    _endpoints: dict[str, bool] = field(default_factory=dict)
    _gguf: bytes | None = None

    # --- server state ---------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        """Whether the server has model ``name`` (``/api/show`` answers 200)."""
        return self.client.post("/api/show", json={"model": name}).status_code == 200

    def ensure_model(self, name: str) -> None:
        """Make sure ``name`` is on the server, pulling it if needed; Unavailable if it cannot be."""
        if name not in self._present:
            error = None
            if not self.exists(name):
                r = self.client.post("/api/pull", json={"model": name, "stream": False})
                if r.status_code != 200:
                    error = f"model {name!r} is not on the server and pulling it failed: {_error_text(r)}"
            self._present[name] = error
        error = self._present[name]
        if error:
            raise Unavailable(error)

    def capabilities(self, name: str) -> frozenset[str] | None:
        """The capabilities ``/api/show`` lists for ``name`` (None when the server does not say)."""
        if name not in self._capabilities:
            r = self.client.post("/api/show", json={"model": name})
            caps = r.json().get("capabilities") if r.status_code == 200 else None
            self._capabilities[name] = frozenset(caps) if isinstance(caps, list) else None
        return self._capabilities[name]

    def ensure_absent(self, name: str) -> None:
        """Delete scratch model ``name`` if it exists (only names under the scratch namespace)."""
        if not name.startswith(f"{SCRATCH_NAMESPACE}/"):
            raise ValueError(f"refusing to delete {name!r}: not a scratch name")
        self.client.request("DELETE", "/api/delete", json={"model": name})
        self.created.discard(name)

    def ensure_copy(self, source: str, destination: str) -> None:
        """Make scratch ``destination`` a copy of ``source``."""
        self.ensure_model(source)
        r = self.client.post("/api/copy", json={"source": source, "destination": destination})
        if r.status_code != 200:
            raise Unavailable(f"could not copy {source!r} to {destination!r}: {_error_text(r)}")
        self.created.add(destination)

    def ensure_f16(self, name: str) -> None:
        """Make scratch ``name`` a model created from a small F16 GGUF."""
        digest = self.upload(self.gguf_bytes())
        r = self.client.post(
            "/api/create", json={"model": name, "files": {"model.gguf": digest}, "stream": False}
        )
        if r.status_code != 200:
            raise Unavailable(f"could not create the F16 model {name!r}: {_error_text(r)}")
        self.created.add(name)

    def ensure_loaded(self, name: str) -> None:
        """Ask the server to load ``name`` (a generate request without a prompt)."""
        self.ensure_model(name)
        self.client.post("/api/generate", json={"model": name})

    def upload(self, data: bytes) -> str:
        """Store ``data`` as a blob; return its ``sha256:<hex>`` digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        r = self.client.post(f"/api/blobs/{digest}", content=data)
        if r.status_code not in (200, 201):
            raise Unavailable(f"could not upload a blob: {_error_text(r)}")
        return digest

    def gguf_bytes(self) -> bytes:
        """A small valid GGUF (F16 weights), built with ``corral.testing`` once per run."""
        if self._gguf is None:
            try:
                from corral.testing import write_tiny_gguf
            except ImportError as exc:  # the suite also runs against other servers
                raise Unavailable(
                    f"no GGUF file to upload (corral.testing is not importable: {exc})"
                ) from None
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "tiny.gguf"
                write_tiny_gguf(path, seed=7)
                self._gguf = path.read_bytes()
        return self._gguf

    def endpoint_missing(self, method: str, path: str) -> bool:
        """Whether the server has no route for ``method path`` (it answers ``404 page not found``)."""
        key = f"{method} {path}"
        if key not in self._endpoints:
            body = None if method in ("GET", "HEAD") else b"{}"
            r = self.client.request(method, path, content=body)
            # Ollama's router answers in plain text; an OpenAI-style error object may carry it too.
            self._endpoints[key] = r.status_code == 404 and "404 page not found" in r.text
        return self._endpoints[key]

    def cleanup(self) -> None:
        """Delete every scratch model this run created."""
        for name in sorted(self.created):
            self.client.request("DELETE", "/api/delete", json={"model": name})
        self.created.clear()

    # --- one transcript -------------------------------------------------------------------

    def prepare(self, t: Transcript, bound: Bound) -> Request:
        """Meet ``t``'s preconditions and return the request to send (Unavailable if impossible)."""
        renames = dict(bound.renames)
        notes: list[str] = []
        for b in bound.bindings:
            if b.role == "missing":
                if self.exists(b.local):
                    raise Unavailable(f"model {b.local!r} exists on the server; the case needs it missing")
            elif b.role in ("chat", "embedding", "vision", "thinking") or (
                b.role == "pull" and t.endpoint != "POST /api/pull"
            ):
                self.ensure_model(b.local)
            elif b.role == "copy":
                self.ensure_copy(self.chat_model, b.local)
            elif b.role == "f16":
                self.ensure_f16(b.local)
            elif b.role == "target":
                self._prepare_target(t, b.local)
        asked = t.body.get("model") if isinstance(t.body, dict) else None
        model = next((b.local for b in bound.bindings if b.original == asked), None)
        if t.ok and model is not None and isinstance(bound.body, dict):
            have = self.capabilities(model)
            for cap in needed_capabilities(t.endpoint, bound.body):
                if have is not None and cap not in have:
                    raise Unavailable(
                        f"the request needs the {cap!r} capability, which {model!r} lacks "
                        f"(map a model that has it: {_FLAGS[cap]})"
                    )
        if t.endpoint == "GET /api/ps" and self.chat_model:
            self.ensure_loaded(self.chat_model)
        if t.endpoint == "GET /api/tags" and self.chat_model:
            self.ensure_model(self.chat_model)
        body = bound.body
        if isinstance(body, dict):
            body = self._fill(t, body, renames, notes)
        path = bound.path or t.path
        content: bytes | None
        headers = dict(t.headers)
        json_body = None
        if t.body_encoding == "binary":
            content, path = self._binary(t, renames)
        elif t.body_encoding == "empty":
            content = b""
        elif t.body_encoding in ("raw-text", "raw-json-text"):
            content = str(t.body).encode()
        elif body is None:
            content = None
        else:
            json_body = body
            content = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        return Request(t.method, path, content, headers, json_body, renames, notes)

    def _prepare_target(self, t: Transcript, name: str) -> None:
        if t.endpoint == "DELETE /api/delete":
            if t.ok:
                self.ensure_copy(self.chat_model, name)
            else:
                self.ensure_absent(name)
        else:
            self.ensure_absent(name)
            self.created.add(name)

    def _fill(self, t: Transcript, body: dict[str, Any], renames: dict[str, str], notes: list[str]) -> Any:
        body = {k: _PLACEHOLDERS.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        files = body.get("files")
        if isinstance(files, dict) and files:
            if not all(str(n).endswith(".gguf") for n in files):
                raise Unavailable("the request creates a model from non-GGUF files")
            digest = self.upload(self.gguf_bytes())
            for old in files.values():
                renames[str(old)] = digest
            body["files"] = {n: digest for n in files}
            notes.append("files: a small F16 GGUF uploaded in place of the transcript's blob")
        if self.num_predict and t.ok and (t.endpoint in _GENERATING or t.endpoint in _OPENAI_GENERATING):
            if t.endpoint in _GENERATING:
                options = dict(body.get("options") or {})
                if "num_predict" not in options and (body.get("prompt") or body.get("messages")):
                    options["num_predict"] = self.num_predict
                    body["options"] = options
                    notes.append(f"options.num_predict={self.num_predict} added to keep generation short")
            else:
                cap = _OPENAI_GENERATING[t.endpoint]
                # Anthropic requires max_tokens, so a transcript always has one: lower it instead.
                if cap not in body or (t.endpoint == "POST /v1/messages" and body[cap] > self.num_predict):
                    body[cap] = self.num_predict
                    notes.append(f"{cap}={self.num_predict} set to keep generation short")
        return body

    def _binary(self, t: Transcript, renames: dict[str, str]) -> tuple[bytes, str]:
        if t.ok:
            # A fresh blob, so the server creates it (201) rather than finding it (200).
            data = os.urandom(64)
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            old = t.path.rsplit("/", 1)[-1]
            renames[old] = digest
            return data, t.path.replace(old, digest)
        # A digest mismatch: send empty bytes (the transcript's "got" digest is the empty one).
        return b"", t.path


def needed_capabilities(endpoint: str, body: dict[str, Any]) -> list[str]:
    """The model capabilities a request needs beyond plain completion, as Ollama checks them."""
    caps = []
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    if endpoint in ("POST /api/generate", "POST /v1/completions") and body.get("suffix"):
        caps.append("insert")
    if endpoint in (
        "POST /api/chat",
        "POST /v1/chat/completions",
        "POST /v1/responses",
        "POST /v1/messages",
    ) and body.get("tools"):
        caps.append("tools")
    has_parts = any(
        isinstance(m.get("content"), list)
        and any(isinstance(p, dict) and p.get("type") == "image_url" for p in m["content"])
        for m in messages
    )
    if body.get("images") or any(m.get("images") for m in messages) or has_parts:
        caps.append("vision")
    if body.get("think") not in (None, False):
        caps.append("thinking")
    return caps


def _error_text(r: httpx.Response) -> str:
    try:
        return f"{r.status_code} {r.json().get('error', r.text)}"
    except (ValueError, AttributeError):
        return f"{r.status_code} {r.text[:200]}"
