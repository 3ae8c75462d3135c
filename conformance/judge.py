"""Deciding whether a captured response matches a transcript: status, content type, body or stream."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.compare import Comparer, key_paths
from conformance.rules import EndpointRules
from conformance.streams import Captured, compare_stream, join_stream, media_type
from conformance.transcripts import Transcript

__all__ = ["KnownKeys", "Verdict", "judge"]

# Endpoints that stream unless the request says "stream": false.
_STREAM_BY_DEFAULT = (
    "POST /api/generate",
    "POST /api/chat",
    "POST /api/pull",
    "POST /api/create",
    "POST /api/push",
)


@dataclass
class KnownKeys:
    """Every key path the transcripts show, per endpoint and outcome (success or error)."""

    paths: dict[tuple[str, bool], set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def of(cls, transcripts: Iterable[Transcript]) -> KnownKeys:
        """Index ``transcripts``."""
        index = cls()
        for t in transcripts:
            bucket = index.paths[(t.endpoint, t.ok)]
            bucket |= key_paths(t.expected)
            for chunk in t.chunks or ():
                bucket |= key_paths(chunk)
        return index

    def get(self, t: Transcript) -> frozenset[str]:
        """The key paths known for ``t``'s endpoint and outcome."""
        return frozenset(self.paths.get((t.endpoint, t.ok), ()))


@dataclass
class Verdict:
    """The problems found (none means the transcript passes) and remarks on how it was compared."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _content_type_problem(t: Transcript, cap: Captured) -> str | None:
    want = t.content_type
    if want is None and t.stream:
        want = {"ndjson": "application/x-ndjson", "sse": "text/event-stream"}.get(t.format or "")
    if want is None or (not cap.raw and not t.stream):
        return None
    if media_type(want) != media_type(cap.content_type):
        return f"content type {cap.content_type!r} where the transcript has {want!r}"
    charset_want = want.lower().partition("charset=")[2].strip()
    charset_got = cap.content_type.lower().partition("charset=")[2].strip()
    if charset_want and charset_got and charset_want != charset_got:
        return f"content type {cap.content_type!r} where the transcript has {want!r}"
    return None


def judge(
    t: Transcript,
    cap: Captured,
    expected: Any,
    chunks: list[Any] | None,
    rules: EndpointRules,
    known: frozenset[str],
    sent_body: Any = None,
) -> Verdict:
    """Compare ``cap`` with transcript ``t`` (whose body and chunks, with names mapped, are
    ``expected`` and ``chunks``). ``sent_body`` is the JSON request actually sent."""
    v = Verdict()
    if cap.status != t.status:
        v.problems.append(f"status {cap.status} where the transcript has {t.status}; body: {cap.excerpt()}")
        return v
    joined = (
        not t.stream
        and cap.format == "ndjson"
        and t.endpoint in _STREAM_BY_DEFAULT
        and not (isinstance(sent_body, dict) and sent_body.get("stream") is False)
    )
    problem = None if joined else _content_type_problem(t, cap)
    if problem:
        v.problems.append(problem)
    if cap.parse_error:
        v.problems.append(cap.parse_error)
        return v
    lenient = t.kind == "client-mock"
    if lenient:
        v.notes.append("client mock: only the keys the mock shows are checked")
    if not t.recorded:
        v.notes.append("no recorded response: status, content type and framing checked")
        has_done = bool(cap.chunks) and any(isinstance(c, dict) and "done" in c for c in cap.chunks or ())
        if has_done and cap.chunks and cap.chunks[-1].get("done") is not True:
            v.problems.append("stream does not end with a done=true chunk")
        return v
    if t.stream:
        if cap.chunks is None:
            v.problems.append(f"a single {cap.format} response where the transcript has a stream")
        else:
            v.problems += compare_stream(chunks or [], cap.chunks, rules, known, lenient)
        return v
    if expected is None:
        if cap.raw.strip() and 200 <= t.status < 300:
            v.problems.append(f"body {cap.excerpt()!r} where the transcript has an empty body")
        return v
    if isinstance(expected, str):
        if not lenient and cap.body != expected:
            v.problems.append(f"body {cap.excerpt()!r} where the transcript has {expected!r}")
        return v
    actual = cap.body
    if joined and cap.chunks is not None:
        actual = join_stream(cap.chunks)
        v.notes.append("the request streams by default and the document shows one object: joined the stream")
    elif cap.chunks is not None:
        v.problems.append(f"a {cap.format} stream where the transcript has a single object")
        return v
    v.problems += Comparer(rules, known, lenient=lenient, optional=_elided(t)).compare(expected, actual)
    return v


def _elided(t: Transcript) -> set[str]:
    prefix = "response.body."
    return {f[len(prefix) :] for f in t.elided_fields if f.startswith(prefix)}
