"""Replaying transcripts against a server: one Outcome per transcript, gathered in a Report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from conformance.judge import KnownKeys, judge
from conformance.mapping import MODELS_FILE, ModelMap, rewrite_names
from conformance.prepare import Preparer, Request, Unavailable
from conformance.record import record_transcript
from conformance.rules import RULES_FILE, Rules
from conformance.streams import Captured, capture
from conformance.tiny import create_tiny_models
from conformance.transcripts import TRANSCRIPTS_DIR, Transcript, load_transcripts, select

__all__ = ["Outcome", "Report", "Result", "run"]

Result = Literal["passed", "failed", "skipped"]


@dataclass
class Outcome:
    """What happened to one transcript."""

    name: str
    kind: str
    endpoint: str
    result: Result
    reason: str = ""
    """Why it was skipped, or the first problem when it failed."""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Report:
    """Every outcome of a run, in transcript order."""

    base_url: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: Result, endpoint: str | None = None) -> int:
        """How many outcomes have ``result`` (on ``endpoint`` when given)."""
        return sum(1 for o in self.outcomes if o.result == result and endpoint in (None, o.endpoint))

    def endpoints(self) -> list[str]:
        """The endpoints, in the order they first appear."""
        return list(dict.fromkeys(o.endpoint for o in self.outcomes))

    def by_endpoint(self) -> dict[str, list[Outcome]]:
        """Outcomes grouped by endpoint."""
        return {ep: [o for o in self.outcomes if o.endpoint == ep] for ep in self.endpoints()}

    def select(
        self, result: Result | None = None, kinds: Iterable[str] = (), endpoints: Iterable[str] = ()
    ) -> list[Outcome]:
        """Outcomes filtered by result, transcript kind and endpoint (empty filters keep all)."""
        ks, eps = set(kinds), set(endpoints)
        return [
            o
            for o in self.outcomes
            if (result is None or o.result == result)
            and (not ks or o.kind in ks)
            and (not eps or o.endpoint in eps)
        ]

    def summary(self) -> str:
        """The closing line: ``N passed, N failed, N skipped``."""
        return (
            f"{self.count('passed')} passed, {self.count('failed')} failed, {self.count('skipped')} skipped"
        )


def _send(client: httpx.Client, req: Request) -> Captured:
    response = client.request(req.method, req.path, content=req.content, headers=req.headers)
    return capture(response)


def _version_skip(t: Transcript) -> str | None:
    if t.ollama_version and t.ollama_version.startswith("<="):
        return (
            f"recorded against Ollama {t.ollama_version}; current Ollama no longer accepts this request form"
        )
    return None


def _check(
    t: Transcript,
    client: httpx.Client,
    prep: Preparer,
    models: ModelMap,
    rules: Rules,
    known: KnownKeys,
    record_dir: Path | None,
    server_version: str,
) -> Outcome:
    out = Outcome(t.name, t.kind, t.endpoint, "skipped")
    reason = rules.skip_reason(t.name) or _version_skip(t)
    pending = rules.pending(t.endpoint)
    if reason is None and pending and prep.endpoint_missing(t.method, t.path):
        reason = f"{pending} (the server answers 404 page not found)"
    if reason is not None:
        out.reason = reason
        return out
    bound = models.bind(t)
    if isinstance(bound, str):
        out.reason = bound
        return out
    try:
        req = prep.prepare(t, bound)
    except Unavailable as exc:
        out.reason = str(exc)
        return out
    cap = _send(client, req)
    expected = rewrite_names(t.expected, req.renames)
    chunks = rewrite_names(t.chunks, req.renames)
    verdict = judge(
        t, cap, expected, chunks, rules.for_endpoint(t.endpoint), known.get(t), sent_body=req.json_body
    )
    out.problems, out.notes = verdict.problems, req.notes + verdict.notes
    out.result = "failed" if verdict.problems else "passed"
    out.reason = verdict.problems[0] if verdict.problems else ""
    if record_dir is not None:
        record_transcript(t, req, cap, record_dir, prep.client.base_url, server_version)
    return out


def run(
    base_url: str,
    *,
    only: Iterable[str] = (),
    kinds: Iterable[str] = (),
    chat_model: str | None = None,
    embed_model: str | None = None,
    pull_model: str | None = None,
    code_model: str | None = None,
    vision_model: str | None = None,
    thinking_model: str | None = None,
    num_predict: int = 64,
    tiny_models: bool = False,
    record_dir: Path | None = None,
    transcripts_dir: Path = TRANSCRIPTS_DIR,
    models_file: Path = MODELS_FILE,
    rules_file: Path = RULES_FILE,
    timeout: float = 600.0,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> Report:
    """Replay the transcripts against the server at ``base_url`` and compare what it answers.

    ``only`` (globs or substrings of names) and ``kinds`` narrow the transcripts; the ``*_model``
    arguments choose the local models that stand in for the transcripts' (see models.toml);
    ``num_predict`` caps generation (0: requests go out unchanged); ``tiny_models`` creates tiny
    random-weight stand-ins for the chat, code, thinking and embedding roles (see conformance.tiny) unless a
    model is given for the role; ``record_dir`` also saves
    each exchange as a new transcript there. Scratch models the run creates are deleted at the end.
    """
    corpus = load_transcripts(transcripts_dir)
    chosen = select(corpus, only, kinds)
    rules = Rules.load(rules_file)
    known = KnownKeys.of(corpus)
    report = Report(base_url)
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        prep = Preparer(client, num_predict=num_predict)
        server_version = _server_version(client)
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)
        try:
            players = {
                "chat": chat_model,
                "embedding": embed_model,
                "pull": pull_model,
                "code": code_model,
                "vision": vision_model,
                "thinking": thinking_model,
            }
            if tiny_models:
                tiny = create_tiny_models(prep)
                players |= {role: players[role] or name for role, name in tiny.items()}
            models = ModelMap.load(models_file, **players)
            prep.chat_model = models.roles.get("chat", "")
            for t in chosen:
                start = time.monotonic()
                try:
                    outcome = _check(t, client, prep, models, rules, known, record_dir, server_version)
                except httpx.HTTPError as exc:
                    outcome = Outcome(t.name, t.kind, t.endpoint, "failed", reason=f"HTTP error: {exc!r}")
                    outcome.problems = [outcome.reason]
                outcome.seconds = time.monotonic() - start
                report.outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
        finally:
            prep.cleanup()
    return report


def _server_version(client: httpx.Client) -> str:
    try:
        return str(client.get("/api/version").json().get("version", "unknown"))
    except (httpx.HTTPError, ValueError, AttributeError):
        return "unknown"
