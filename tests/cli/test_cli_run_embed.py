"""``corral run`` with an embedding-only model (all-MiniLM, pulled offline): vectors as JSON lines."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator

import pytest

from corral.cli.commands import run as run_command
from corral.cli.main import main
from corral.cli.repl.reader import Interrupted
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture
def minilm(cli_live_server: LiveServer) -> LiveServer:
    r = cli_live_server.client.post("/api/pull", json={"model": "all-minilm"})
    assert r.status_code == 200 and json.loads(r.text.splitlines()[-1])["status"] == "success"
    return cli_live_server


def _server_vectors(server: LiveServer, texts: list[str]) -> list[list[float]]:
    r = server.client.post("/api/embed", json={"model": "all-minilm", "input": texts})
    assert r.status_code == 200, r.text
    vectors: list[list[float]] = r.json()["embeddings"]
    return vectors


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Lines:
    """Stands in for the prompt_toolkit LineReader: typed lines, then Ctrl-C, then Ctrl-D."""

    def __init__(self, _history: object = None, lines: Iterator[str] | None = None) -> None:
        self.lines = lines or iter(["the first line", "", "  ", "second one", None, "/bye", "never read"])

    def read(self, continuation: bool = False) -> str:
        line = next(self.lines)
        if line is None:
            raise Interrupted("")
        return line


def test_cli_run_embedding_model_one_shot(
    minilm: LiveServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal, nothing piped
    assert main(["run", "all-minilm", "why", "is", "the", "sky", "blue?"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("[") and " " not in out  # compact, like Go's json
    (expected,) = _server_vectors(minilm, ["why is the sky blue?"])
    assert json.loads(out) == pytest.approx(expected, abs=1e-6)
    assert len(expected) == 384

    # Piped input comes first, then the arguments, as for completion models.
    monkeypatch.setattr(sys, "stdin", io.StringIO("piped text"))
    assert main(["run", "all-minilm", "and", "args"]) == 0
    (expected,) = _server_vectors(minilm, ["piped text and args"])
    assert json.loads(capsys.readouterr().out) == pytest.approx(expected, abs=1e-6)

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["run", "all-minilm"]) != 0
    assert "embedding models need input text" in capsys.readouterr().err


def test_cli_run_embedding_model_interactive(minilm: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(run_command, "LineReader", _Lines)
    assert main(["run", "all-minilm"]) == 0
    lines = terminal.getvalue().splitlines()
    assert lines[2:] == ["", "Use Ctrl + d or /bye to exit."]  # Ctrl-C on an empty line; /bye ends it
    vectors = [json.loads(line) for line in lines[:2]]  # one line per input; blank lines skipped
    expected = _server_vectors(minilm, ["the first line", "second one"])
    for got, want in zip(vectors, expected, strict=True):
        # One input alone vs several in one batch of sequences: llama.cpp arithmetic differs slightly.
        assert got == pytest.approx(want, abs=5e-4)
