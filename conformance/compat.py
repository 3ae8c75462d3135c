"""docs/compatibility.md from a replay run: endpoint × feature × status, and every deviation explained.

``python -m conformance.compat --out docs/compatibility.md`` starts a throwaway corral (``python -m
corral serve`` on a free port over an empty temporary store), replays every transcript with the
tiny stand-in models and ``num_predict`` 4 (the settings of tests/conformance), and writes the page.
``--url`` targets a running server instead; ``--fuzz`` adds a schemathesis run of Ollama's document
(it deletes models: never against a server with models you keep); ``--clients-junit`` adds the
client suites' results from ``pytest tests/clients --junitxml FILE``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from conformance.fuzz import FuzzReport, fuzz
from conformance.prepare import Preparer
from conformance.runner import Outcome, Report, run
from conformance.tiny import TINY_MODELS, create_tiny_models
from conformance.transcripts import Transcript, load_transcripts
from corral.testing import free_port, stop_process, wait_for_http

__all__ = [
    "DEVIATIONS_FILE",
    "explain",
    "features_of",
    "main",
    "page",
    "render",
    "replay_section",
    "rows_for",
]

DEVIATIONS_FILE = Path(__file__).with_name("deviations.toml")
"""Problem text → why corral deviates (printed next to each failure)."""

REPLAY_START = "<!-- replay:start -->"
REPLAY_END = "<!-- replay:end -->"
"""Markers around the part of the page that tests/conformance checks against a fresh run."""

_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}


def features_of(t: Transcript) -> list[str]:
    """The API features a transcript's request exercises (``stream``, ``tools``, ``format: schema``, ...)."""
    body = t.body if isinstance(t.body, dict) else {}
    out = ["error answer" if t.status >= 400 else "basic"]
    if t.stream:
        out.append("streaming")
    fmt = body.get("format")
    if fmt is not None:
        out.append("format: schema" if isinstance(fmt, dict) else f"format: {fmt}")
    rf = body.get("response_format")
    if isinstance(rf, dict):
        out.append(f"response_format: {rf.get('type')}")
    keys = ("tools", "images", "think", "suffix", "raw", "keep_alive", "options", "logprobs", "dimensions")
    out += [k for k in keys if body.get(k) not in (None, "", [], {})]
    messages = body.get("messages")
    if isinstance(messages, list) and any(isinstance(m, dict) and m.get("tool_calls") for m in messages):
        out.append("tool-call history")
    return out


def _explanations(path: Path = DEVIATIONS_FILE) -> dict[str, str]:
    with open(path, "rb") as f:
        table: dict[str, str] = tomllib.load(f).get("explain", {})
    return table


def explain(o: Outcome, table: dict[str, str] | None = None) -> str:
    """Why ``o`` deviates: its skip reason, or the explanation its problems match in deviations.toml."""
    if o.result == "skipped":
        return o.reason
    if o.result == "passed":
        return ""
    table = _explanations() if table is None else table
    found = [why for text, why in table.items() if any(text in p for p in o.problems)]
    return " ".join(dict.fromkeys(found)) or "not explained yet (a corral bug to fix)"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _status(counts: dict[str, int]) -> str:
    if counts["failed"]:
        return "❌ deviates"
    if counts["passed"] and counts["skipped"]:
        return "⚠️ partly checked"
    if counts["passed"]:
        return "✅ conforms"
    return "⏭️ not checked"


def render(report: Report, transcripts: Sequence[Transcript]) -> str:
    """The replay part of the page (between the markers): deterministic for a given set of results."""
    by_name = {t.name: t for t in transcripts}
    table = _explanations()
    lines = [REPLAY_START, "", f"**Transcripts: {report.summary()}.**", ""]
    lines += ["## Endpoints", ""]
    lines += ["| endpoint | passed | failed | skipped | status |", "|---|---|---|---|---|"]
    for endpoint, outcomes in report.by_endpoint().items():
        c = {r: sum(o.result == r for o in outcomes) for r in ("passed", "failed", "skipped")}
        lines.append(f"| `{endpoint}` | {c['passed']} | {c['failed']} | {c['skipped']} | {_status(c)} |")
    lines += ["", "## Features", "", "Each transcript counts once for every feature its request uses.", ""]
    lines += ["| endpoint | feature | passed | failed | skipped | status |", "|---|---|---|---|---|---|"]
    for endpoint, outcomes in report.by_endpoint().items():
        cells: dict[str, dict[str, int]] = {}
        for o in outcomes:
            for feat in features_of(by_name[o.name]) if o.name in by_name else ["basic"]:
                cells.setdefault(feat, {"passed": 0, "failed": 0, "skipped": 0})[o.result] += 1
        for feat, c in sorted(cells.items()):
            lines.append(
                f"| `{endpoint}` | {feat} | {c['passed']} | {c['failed']} | {c['skipped']} | {_status(c)} |"
            )
    lines += ["", "## Deviations", "", "Every transcript that did not pass, and why.", ""]
    lines += ["| transcript | endpoint | kind | result | why |", "|---|---|---|---|---|"]
    for o in report.outcomes:
        if o.result != "passed":
            why = explain(o, table)
            if o.result == "failed":
                why = f"{why} Observed: {'; '.join(o.problems[:2])}"
            lines.append(
                f"| {o.name} | `{o.endpoint}` | {o.kind} | {_ICON[o.result]} {o.result} | {_cell(why)} |"
            )
    lines += ["", REPLAY_END]
    return "\n".join(lines)


def render_clients(junit: Path) -> str:
    """The client-suite section from a pytest JUnit XML file."""
    root = ET.parse(junit).getroot()
    lines = ["## Client libraries", "", "| suite | test | result |", "|---|---|---|"]
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for case in root.iter("testcase"):
        if case.find("skipped") is not None:
            result = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            result = "failed"
        else:
            result = "passed"
        totals[result] += 1
        suite = case.get("classname", "").rsplit(".", 1)[-1].removeprefix("test_client_")
        lines.append(f"| {suite} | `{case.get('name')}` | {_ICON[result]} {result} |")
    summary = ", ".join(f"{n} {r}" for r, n in totals.items())
    return "\n".join([*lines[:2], f"**{summary}.**", "", *lines[2:]])


def run_fuzz(url: str) -> FuzzReport:
    """schemathesis with Ollama's whole document, the tiny chat model answering to ``gemma4``."""
    with httpx.Client(base_url=url, timeout=120) as client:
        create_tiny_models(Preparer(client))
    return fuzz(url, schema="ollama", max_examples=10, aliases={"gemma4": TINY_MODELS["chat"][0]})


def render_fuzz(report: FuzzReport) -> str:
    """The schemathesis section: operations, failures and allowed findings with their reasons."""
    lines = ["## OpenAPI fuzzing (schemathesis)", "", f"**{report.summary()}.**", ""]
    lines += ["| operation | failures | allowed findings |", "|---|---|---|"]
    for op in sorted(report.operations):
        found = [f for f in report.findings if f.operation == op]
        failures = [f"{f.code} {f.status}" for f in found if f.allowed is None]
        allowed = sorted({f.allowed for f in found if f.allowed is not None})
        lines.append(f"| `{op}` | {_cell(', '.join(failures)) or 0} | {_cell('; '.join(allowed)) or '—'} |")
    return "\n".join(lines)


def page(
    report: Report, transcripts: Sequence[Transcript], clients: str | None = None, fuzzed: str | None = None
) -> str:
    """The whole page."""
    head = [
        "# Compatibility with Ollama's API",
        "",
        "Generated by `python -m conformance.compat --out docs/compatibility.md --fuzz "
        "--clients-junit clients.xml` (after `pytest tests/clients --junitxml clients.xml`); do not edit.",
        "Ollama's recorded exchanges (`conformance/transcripts/`) are replayed against a fresh corral with",
        "tiny random-weight models in the chat, code, thinking and embedding roles and generation capped",
        "at 4 tokens; each answer is compared with Ollama's by status, content type, keys, JSON types,",
        "stream shape and the values that are deterministic (see `conformance/README.md`).",
        "tests/conformance checks that the replay part below matches a fresh run.",
        "`POST /api/push` has no transcript: the fuzzing and the client suites (pushing to a real",
        "OCI registry) cover it. Client tests of tool calls with random-weight models force the call",
        "with a JSON-schema `format`; the parsing and round trip are real (see the test's docstring).",
        "",
    ]
    parts = ["\n".join(head), render(report, transcripts)]
    parts += [section for section in (fuzzed, clients) if section]
    return "\n\n".join(parts) + "\n"


def rows_for(section: str, endpoints: Sequence[str]) -> list[str]:
    """The table rows of a replay section that concern ``endpoints``."""
    marks = tuple(f"`{e}`" for e in endpoints)
    return [line for line in section.splitlines() if line.startswith("|") and any(m in line for m in marks)]


def replay_section(text: str) -> str:
    """The part of a page between the replay markers (empty when they are missing)."""
    start, end = text.find(REPLAY_START), text.find(REPLAY_END)
    return text[start : end + len(REPLAY_END)] if 0 <= start < end else ""


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


@contextmanager
def _corral() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CORRAL_HOST": f"127.0.0.1:{port}", "CORRAL_MODELS": str(Path(tmp) / "models")}
        log = Path(tmp) / "serve.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "corral", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(
                url, proc, name="corral serve", timeout=60, interval=0.2, request_timeout=2, any_status=True
            )
            yield url
        finally:
            if stop_process(proc, timeout=40):
                tail = log.read_text(errors="replace").splitlines()[-5:]
                print("corral serve ignored SIGTERM for 40 s; killed. Its last log lines:", *tail, sep="\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Write the page; exit status 1 when a failure has no explanation."""
    p = argparse.ArgumentParser(prog="python -m conformance.compat", description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="the Markdown file to write")
    p.add_argument("--url", help="a running server (default: start a throwaway corral)")
    p.add_argument("--clients-junit", type=Path, help="pytest JUnit XML of tests/clients")
    p.add_argument(
        "--fuzz", action="store_true", help="also fuzz Ollama's document (a throwaway server only)"
    )
    args = p.parse_args(argv)
    settings: dict[str, Any] = {"tiny_models": True, "num_predict": 4}
    fuzzed = None
    with _corral() if not args.url else _given(args.url) as url:
        report = run(url, **settings)
        if args.fuzz:
            fuzz_report = run_fuzz(url)
            fuzzed = render_fuzz(fuzz_report)
            for f in fuzz_report.failures:
                print(f"fuzz: {f.operation} {f.code}: {f.request}\n  -> {f.status} {f.response[:300]}")
    clients = render_clients(args.clients_junit) if args.clients_junit else None
    args.out.write_text(page(report, load_transcripts(), clients, fuzzed))
    print(f"{args.out}: {report.summary()}")
    unexplained = [o.name for o in report.select("failed") if explain(o).startswith("not explained")]
    if unexplained:
        print("failures without an explanation in conformance/deviations.toml:", ", ".join(unexplained))
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
