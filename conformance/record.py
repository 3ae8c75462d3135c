"""Record mode: saving a replayed exchange as a new transcript, in the same schema as the shipped ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from conformance.streams import Captured
from conformance.transcripts import Transcript

if TYPE_CHECKING:
    from conformance.prepare import Request

__all__ = ["record_transcript", "transcript_json"]


def transcript_json(
    t: Transcript, req: Request, cap: Captured, base_url: str | httpx.URL, server_version: str
) -> dict[str, Any]:
    """The transcript object for one exchange (kind ``recorded``)."""
    request: dict[str, Any] = {"method": req.method, "path": req.path}
    if req.json_body is not None:
        request["body"] = req.json_body
    elif t.body_encoding == "binary":
        request["body"] = f"<{len(req.content or b'')} raw bytes>"
        request["body_encoding"] = "binary"
    elif req.content is None:
        request["body"] = None
    elif req.content == b"":
        request["body"] = None
        request["body_encoding"] = "empty"
    else:
        request["body"] = req.content.decode("utf-8", "replace")
        request["body_encoding"] = t.body_encoding or "raw-text"
    headers = {k: v for k, v in req.headers.items() if k.lower() != "content-type" or req.json_body is None}
    if headers:
        request["headers"] = headers
    response: dict[str, Any] = {"status": cap.status, "stream": cap.chunks is not None}
    if cap.chunks is not None:
        response["chunks"] = cap.chunks
        response["format"] = cap.format
    elif cap.format == "empty":
        response["body"] = None
    else:
        response["body"] = cap.body
    if cap.content_type:
        response["content_type"] = cap.content_type
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "name": t.name,
        "source": f"recorded from {base_url} (version {server_version}) at {stamp}",
        "kind": "recorded",
        "request": request,
        "response": response,
        "notes": f"Replay of transcript {t.name!r} ({t.kind}); model names as mapped for this server.",
        "ollama_version": server_version,
    }


def record_transcript(
    t: Transcript,
    req: Request,
    cap: Captured,
    directory: Path,
    base_url: str | httpx.URL,
    server_version: str,
) -> Path:
    """Write the exchange to ``directory/<name>.json`` and return the path."""
    path = directory / f"{t.name}.json"
    data = transcript_json(t, req, cap, base_url, server_version)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
