"""The transcript files: one recorded request/response pair each, loaded into typed objects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

__all__ = [
    "KINDS",
    "TRANSCRIPTS_DIR",
    "Transcript",
    "endpoint_of",
    "load_transcripts",
    "select",
]

TRANSCRIPTS_DIR = Path(__file__).with_name("transcripts")
"""The transcripts that ship with the suite (schema in ``transcripts/INDEX.md``)."""

KINDS = ("doc-example", "test-fixture", "client-mock", "derived-from-code", "recorded")
"""Where a transcript came from; ``recorded`` is what ``--record`` writes."""

# Paths with a parameter, reduced to one endpoint name each.
_PARAMETRIC = (
    (re.compile(r"^/api/blobs/[^/]+$"), "/api/blobs/:digest"),
    (re.compile(r"^/v1/models/.+$"), "/v1/models/:model"),
)


def endpoint_of(method: str, path: str) -> str:
    """``"POST /api/blobs/:digest"`` for ``("POST", "/api/blobs/sha256:…")``: the endpoint a request hits."""
    for pattern, name in _PARAMETRIC:
        if pattern.match(path):
            path = name
            break
    return f"{method.upper()} {path}"


@dataclass(frozen=True)
class Transcript:
    """One transcript file: the request to replay and the response a real Ollama gave (or documents)."""

    name: str
    kind: str
    source: str
    method: str
    path: str
    body: Any
    """The request body: parsed JSON, raw text (see ``body_encoding``), or None."""
    body_encoding: str | None
    """None for JSON; ``raw-text``/``raw-json-text`` (send ``body`` as is), ``empty``, ``binary``."""
    headers: dict[str, str]
    status: int
    stream: bool
    expected: Any
    """The response body (``stream`` false): JSON value, text, or None for an empty body."""
    chunks: list[Any] | None
    """The stream (``stream`` true): one parsed object per line, ``"[DONE]"`` ending an SSE stream."""
    content_type: str | None
    format: str | None
    recorded: bool
    """False when the source shows the request only (nothing to compare the body with)."""
    notes: str = ""
    elided_fields: tuple[str, ...] = ()
    response_kind: str | None = None
    ollama_version: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def endpoint(self) -> str:
        """The endpoint this transcript exercises, e.g. ``POST /api/chat``."""
        return endpoint_of(self.method, self.path)

    @property
    def ok(self) -> bool:
        """Whether the recorded response is a success (2xx)."""
        return 200 <= self.status < 300

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        """Build from a transcript file's parsed JSON."""
        req = data["request"]
        resp = data["response"]
        return cls(
            name=data["name"],
            kind=data["kind"],
            source=data.get("source", ""),
            method=req["method"].upper(),
            path=req["path"],
            body=req.get("body"),
            body_encoding=req.get("body_encoding"),
            headers=dict(req.get("headers") or {}),
            status=int(resp["status"]),
            stream=bool(resp.get("stream", False)),
            expected=resp.get("body"),
            chunks=resp.get("chunks"),
            content_type=resp.get("content_type"),
            format=resp.get("format"),
            recorded=resp.get("recorded", True) is not False,
            notes=data.get("notes", ""),
            elided_fields=tuple(data.get("elided_fields") or ()),
            response_kind=data.get("response_kind"),
            ollama_version=data.get("ollama_version"),
            raw=data,
        )


def load_transcripts(directory: Path = TRANSCRIPTS_DIR) -> list[Transcript]:
    """Every ``*.json`` transcript in ``directory``, sorted by name."""
    out = []
    for path in sorted(directory.glob("*.json")):
        with open(path, encoding="utf-8") as f:
            out.append(Transcript.from_json(json.load(f)))
    return out


def select(
    transcripts: Iterable[Transcript], only: Iterable[str] = (), kinds: Iterable[str] = ()
) -> list[Transcript]:
    """Keep the transcripts whose name matches one of ``only`` (a glob, else a substring) and whose
    kind is in ``kinds`` (empty filters keep everything)."""
    patterns = list(only)
    wanted = set(kinds)

    def matches(name: str) -> bool:
        if not patterns:
            return True
        for p in patterns:
            if any(c in p for c in "*?[") and fnmatchcase(name, p):
                return True
            if p in name:
                return True
        return False

    return [t for t in transcripts if matches(t.name) and (not wanted or t.kind in wanted)]
