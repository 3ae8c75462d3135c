"""Fuzzing a server with schemathesis: Ollama's OpenAPI document (openapi.yaml) or the server's own
``/schema/openapi.json``; findings parsed from schemathesis' event log, known ones allowed with a reason.

``python -m conformance.fuzz --url URL [--schema ollama|server|PATH] [--max-examples N]``
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

__all__ = ["ALLOW_FILE", "DEFAULT_CHECKS", "OLLAMA_SCHEMA", "Finding", "FuzzReport", "fuzz", "ollama_schema"]

OLLAMA_SCHEMA = Path(__file__).with_name("openapi.yaml")
"""Ollama's own OpenAPI document, as published in its repository."""
ALLOW_FILE = Path(__file__).with_name("fuzz_allow.toml")
_HOOKS = Path(__file__).with_name("_st_hooks.py")
DEFAULT_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
_ERROR_RESPONSE = {
    "description": "Error (added by conformance.fuzz: Ollama's document lists success responses only)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
}


@dataclass(frozen=True)
class Finding:
    """One failed check on one generated request."""

    operation: str
    check: str
    code: str
    title: str
    message: str
    request: str
    """``METHOD URL`` and the body sent."""
    status: int | None
    response: str
    """The start of the response body."""
    allowed: str | None = None
    """Why this finding is accepted (fuzz_allow.toml), or None for a real failure."""

    def key(self) -> tuple[str, str, str]:
        """Findings with the same key are one problem."""
        return (self.operation, self.code, self.message.split("\n", 1)[0])


@dataclass
class FuzzReport:
    """The outcome of one schemathesis run."""

    schema: str
    version: str
    exit_code: int
    output: str
    findings: list[Finding] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    """The operations schemathesis generated requests for."""

    @property
    def failures(self) -> list[Finding]:
        """Findings not allowed by the allow file: the ones to fix."""
        return [f for f in self.findings if f.allowed is None]

    def summary(self) -> str:
        """One line: operations tested, failures, allowed findings."""
        return (
            f"schemathesis {self.version} on {self.schema}: {len(self.operations)} operations, "
            f"{len(self.failures)} failures, {len(self.findings) - len(self.failures)} allowed findings"
        )


def ollama_schema(base_url: str) -> dict[str, Any]:
    """Ollama's document, with an ``{error}`` response for 4XX added to every operation and the
    server set to ``base_url``."""
    with open(OLLAMA_SCHEMA, encoding="utf-8") as f:
        doc: dict[str, Any] = yaml.safe_load(f)
    doc["servers"] = [{"url": base_url}]
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"].setdefault("4XX", _ERROR_RESPONSE)
    return doc


@dataclass(frozen=True)
class _Allow:
    operation: str
    check: str
    pattern: re.Pattern[str]
    reason: str

    def matches(self, f: Finding) -> bool:
        if self.operation not in ("*", f.operation) or self.check not in ("*", f.check, f.code):
            return False
        return bool(self.pattern.search(f"{f.message}\n{f.status} {f.response}"))


def _load_allow(path: Path | None) -> list[_Allow]:
    if path is None or not path.exists():
        return []
    with open(path, "rb") as f:
        data = tomllib.load(f)
    return [
        _Allow(e.get("operation", "*"), e.get("check", "*"), re.compile(e.get("match", "")), e["reason"])
        for e in data.get("allow", [])
    ]


def _events(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                event = json.loads(line)
                name = next(iter(event))
                yield name, event[name]


def _findings(path: Path, allow: list[_Allow]) -> tuple[list[Finding], list[str], str]:
    seen: dict[tuple[str, str, str], Finding] = {}
    operations: dict[str, None] = {}
    version = "unknown"
    for name, event in _events(path):
        if name == "Initialize":
            version = str(event.get("schemathesis_version", version))
        if name != "ScenarioFinished":
            continue
        recorder = event.get("recorder") or {}
        label = str(recorder.get("label", "?"))
        operations[label] = None
        interactions = recorder.get("interactions") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                failure = (check.get("failure_info") or {}).get("failure")
                if check.get("status") != "failure" or not failure:
                    continue
                f = _finding(label, check["name"], failure, interactions.get(case_id) or {})
                for a in allow:
                    if a.matches(f):
                        f = Finding(**{**f.__dict__, "allowed": a.reason})
                        break
                seen.setdefault(f.key(), f)
    return list(seen.values()), list(operations), version


def _payload(value: Any) -> str:
    """A recorded body: ``{"$base64": ...}`` or ``{"string": ...}`` in schemathesis' event log."""
    if not isinstance(value, dict):
        return ""
    if "$base64" in value:
        return base64.b64decode(value["$base64"]).decode("utf-8", "replace")
    return str(value.get("string", ""))


def _finding(label: str, check: str, failure: dict[str, Any], interaction: dict[str, Any]) -> Finding:
    req = interaction.get("request") or {}
    resp = interaction.get("response") or {}
    sent = f"{req.get('method', '?')} {req.get('uri', '?')} {_payload(req.get('body'))[:400]}".rstrip()
    text = _payload(resp.get("content") or resp.get("body"))
    return Finding(
        operation=str(failure.get("operation") or label),
        check=check,
        code=str(failure.get("code", "")),
        title=str(failure.get("title", "")),
        message=str(failure.get("message", "")),
        request=sent,
        status=resp.get("status_code"),
        response=text[:400],
    )


@contextmanager
def _aliased(base_url: str, aliases: Mapping[str, str]) -> Iterator[None]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for name, source in aliases.items():
            r = client.post("/api/copy", json={"source": source, "destination": name})
            if r.status_code != 200:
                raise RuntimeError(f"could not alias {name!r} to {source!r}: {r.status_code} {r.text}")
        try:
            yield
        finally:
            for name in aliases:
                client.request("DELETE", "/api/delete", json={"model": name})


def fuzz(
    base_url: str,
    *,
    schema: str | Path = "ollama",
    max_examples: int = 10,
    phases: Sequence[str] = ("examples", "coverage", "fuzzing"),
    checks: Sequence[str] = DEFAULT_CHECKS,
    include_paths: Iterable[str] = (),
    seed: int = 0,
    max_time: float | None = None,
    request_timeout: float = 120.0,
    allow_file: Path | None = ALLOW_FILE,
    aliases: Mapping[str, str] | None = None,
    events_path: Path | None = None,
) -> FuzzReport:
    """Run schemathesis against ``base_url`` and collect what its checks found.

    ``schema`` is ``"ollama"`` (Ollama's document), ``"server"`` (the server's ``/schema/openapi.json``)
    or a path. ``include_paths`` limits the run to those paths (all when empty). Generated
    requests go out one at a time, without shrinking, so a bounded ``max_examples`` bounds the time.
    ``aliases`` (name → existing model) are copied before the run so the document's example names
    (``gemma4``) reach a real model, and deleted afterwards. ``events_path`` keeps schemathesis'
    event log (every request and response, NDJSON).
    """
    with tempfile.TemporaryDirectory() as tmp, _aliased(base_url, aliases or {}):
        if schema == "ollama":
            location = str(Path(tmp) / "ollama-openapi.json")
            Path(location).write_text(json.dumps(ollama_schema(base_url)), encoding="utf-8")
        elif schema == "server":
            location = base_url.rstrip("/") + "/schema/openapi.json"
        else:
            location = str(schema)
        events = events_path or Path(tmp) / "events.ndjson"
        cmd = [
            sys.executable, "-m", "schemathesis.cli", "run", location, "--url", base_url,
            "--checks", ",".join(checks), "--max-examples", str(max_examples), "--seed", str(seed),
            "--phases", ",".join(phases), "--workers", "1", "--no-shrink",
            "--suppress-health-check", "all", "--request-timeout", str(request_timeout),
            "--report", "ndjson", "--report-ndjson-path", str(events),
        ]  # fmt: skip
        for p in include_paths:
            cmd += ["--include-path", p]
        if max_time is not None:
            cmd += ["--max-time", str(max_time)]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": str(_HOOKS)}
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        output = proc.stdout + proc.stderr
        if not events.exists():
            raise RuntimeError(f"schemathesis did not run (exit {proc.returncode}):\n{output[-3000:]}")
        findings, operations, version = _findings(events, _load_allow(allow_file))
    return FuzzReport(str(schema), version, proc.returncode, output, findings, operations)


def _print(report: FuzzReport) -> None:
    for f in report.findings:
        tag = f"allowed ({f.allowed})" if f.allowed else "FAILURE"
        print(f"[{tag}] {f.operation} {f.check} {f.code} {f.title}")
        print(f"    {f.message.splitlines()[0] if f.message else ''}")
        print(f"    request:  {f.request}")
        print(f"    response: {f.status} {f.response}")
    print(report.summary())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; exit status 1 when a finding is not allowed."""
    p = argparse.ArgumentParser(prog="python -m conformance.fuzz", description=__doc__)
    p.add_argument("--url", default="http://127.0.0.1:11434")
    p.add_argument("--schema", default="ollama", help="ollama, server, or a path (default: %(default)s)")
    p.add_argument("--max-examples", type=int, default=10)
    p.add_argument("--include-path", action="append", default=[], help="only this path; repeatable")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="copy MODEL to NAME for the run (e.g. gemma4=gemma3:270m); repeatable",
    )
    args = p.parse_args(argv)
    aliases = dict(a.split("=", 1) for a in args.alias)
    report = fuzz(
        args.url,
        schema=args.schema,
        max_examples=args.max_examples,
        include_paths=args.include_path,
        seed=args.seed,
        aliases=aliases,
    )
    _print(report)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
