"""Reading a captured response (JSON, NDJSON, SSE, text) and comparing stream chunk sequences."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.compare import Comparer, Template, merge_elements
from conformance.rules import EndpointRules

__all__ = ["DONE", "Captured", "capture", "compare_stream", "join_stream", "media_type", "normalize_status"]

DONE = "[DONE]"
"""The SSE terminator, as transcripts write it."""

_DIGEST = re.compile(r"sha256[:-][0-9a-fA-F]{64}")
_LAYER = re.compile(r"^(pulling|pushing) (?!manifest$)\S+$")


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass
class Captured:
    """A response as the server sent it, parsed according to its content type."""

    status: int
    content_type: str
    raw: bytes
    format: str
    """``empty``, ``json``, ``ndjson``, ``sse`` or ``text``."""
    body: Any = None
    chunks: list[Any] | None = None
    parse_error: str | None = None

    def excerpt(self, limit: int = 200) -> str:
        """The start of the body, for messages."""
        text = self.raw.decode("utf-8", "replace")
        return text if len(text) <= limit else text[:limit] + "..."


def _parse_sse(text: str) -> list[Any]:
    out: list[Any] = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        out.append(DONE if payload == DONE else json.loads(payload))
    return out


def capture(response: httpx.Response) -> Captured:
    """Read and parse ``response`` (its body must already be read)."""
    ctype = response.headers.get("content-type", "")
    raw = response.content
    media = media_type(ctype)
    cap = Captured(response.status_code, ctype, raw, "empty")
    if not raw:
        return cap
    text = raw.decode("utf-8", "replace")
    try:
        if media == "application/x-ndjson":
            cap.format = "ndjson"
            cap.chunks = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif media == "text/event-stream":
            cap.format = "sse"
            cap.chunks = _parse_sse(text)
        elif media.endswith("json"):
            cap.format = "json"
            cap.body = json.loads(text)
        else:
            cap.format = "text"
            cap.body = text
    except ValueError as exc:
        cap.parse_error = f"{media} body does not parse: {exc}"
        cap.body = text
    return cap


def normalize_status(status: str) -> str:
    """A status line with digests and layer names replaced by placeholders."""
    status = _DIGEST.sub("sha256:<digest>", status)
    return _LAYER.sub(lambda m: f"{m.group(1)} <layer>", status)


def _squeeze(lines: list[str]) -> list[str]:
    return [s for i, s in enumerate(lines) if i == 0 or s != lines[i - 1]]


def _is_subsequence(needed: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(s == n for s in it) for n in needed)


def _status_problems(expected: list[Any], actual: list[Any], rules: EndpointRules) -> list[str]:
    problems = []
    want = _squeeze([normalize_status(str(c.get("status", ""))) for c in expected])
    got = _squeeze([normalize_status(str(c.get("status", ""))) for c in actual if "status" in c])
    if rules.status_lines:
        for line in got:
            if not any(p.fullmatch(line) for p in rules.status_lines):
                problems.append(f"status line {line!r} is not one this endpoint sends")
    needed = [s for s in want if not any(p.fullmatch(s) for p in rules.status_skippable)]
    if not _is_subsequence(needed, got):
        problems.append(f"status lines {got} do not contain {needed} in order")
    if got and want and got[-1] != want[-1]:
        problems.append(f"last status {got[-1]!r} where the transcript ends with {want[-1]!r}")
    return problems


def compare_stream(
    expected: list[Any], actual: list[Any], rules: EndpointRules, known: frozenset[str], lenient: bool
) -> list[str]:
    """Problems with ``actual`` as a stream shaped like ``expected``: terminator, first/middle/final
    chunks, ``done`` flags, status lines, and each chunk's keys and types."""
    problems: list[str] = []
    expected, actual = list(expected), list(actual)
    if expected and expected[-1] == DONE:
        expected.pop()
        if not actual or actual[-1] != DONE:
            problems.append("SSE stream does not end with data: [DONE]")
        else:
            actual.pop()
    if not actual:
        return [*problems, "empty stream"]
    if not lenient:
        errors = [c for c in actual if isinstance(c, dict) and "error" in c]
        if errors and not any(isinstance(c, dict) and "error" in c for c in expected):
            return [*problems, f"stream carries an error: {errors[-1]['error']!r}"]
    if lenient:
        template = merge_elements(expected, "")
        cmp = _comparer(rules, known, template, lenient=True)
        for chunk in actual:
            cmp.compare(template.value, chunk)
        return problems + _numbered(cmp.problems)
    if all(isinstance(c, dict) and "status" in c for c in expected):
        problems += _status_problems(expected, actual, rules)
        template = merge_elements(expected, "")
        cmp = _comparer(rules, known, template)
        for chunk in actual:
            cmp.compare(template.value, chunk)
        return problems + _numbered(cmp.problems)
    final, middle = expected[-1], expected[:-1]
    if isinstance(final, dict) and "done" in final:
        flags = [c.get("done") if isinstance(c, dict) else None for c in actual]
        if flags[-1] is not True:
            problems.append(f"final chunk has done={flags[-1]!r}")
        if any(f is not False for f in flags[:-1]):
            problems.append("a chunk before the final one is not done=false")
    problems += [f"final chunk: {p}" for p in Comparer(rules, known).compare(final, actual[-1])]
    if middle:
        if len(actual) < 2:
            problems.append(f"only a final chunk where the transcript has {len(middle)} before it")
        template = merge_elements(middle, "")
        cmp = _comparer(rules, known, template)
        for chunk in actual[:-1]:
            cmp.compare(template.value, chunk)
        problems += _numbered(cmp.problems)
    return problems


def _comparer(rules: EndpointRules, known: frozenset[str], t: Template, lenient: bool = False) -> Comparer:
    return Comparer(
        rules,
        known,
        lenient=lenient,
        optional=set(t.partial),
        nullable=set(t.nullable),
        emptiable=set(t.emptiable),
    )


def _numbered(problems: list[str]) -> list[str]:
    # The same problem in many chunks is reported once.
    return [f"chunk {p}" for p in dict.fromkeys(problems)]


def join_stream(chunks: list[Any]) -> Any:
    """One object from an NDJSON stream of ``/api/generate`` or ``/api/chat``: texts joined, tool
    calls gathered, everything else from the final chunk (what ``stream: false`` returns)."""
    objects = [c for c in chunks if isinstance(c, dict)]
    if not objects:
        return None
    final = dict(objects[-1])
    for key in ("response", "thinking"):
        if key in final:
            final[key] = "".join(str(c.get(key, "")) for c in objects)
    if isinstance(final.get("message"), dict):
        message = dict(final["message"])
        for key in ("content", "thinking"):
            if key in message:
                message[key] = "".join(str(c.get("message", {}).get(key, "")) for c in objects)
        calls = [tc for c in objects for tc in c.get("message", {}).get("tool_calls") or []]
        if calls:
            message["tool_calls"] = calls
        final["message"] = message
    return final
