"""``corral run`` one-shot: argument prompt, piped stdin, --verbose, --format, --keepalive, auto-start."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.cli.main import main
from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, free_port

REPO = Path(__file__).resolve().parents[2]
STATS = re.compile(
    r"total duration:       \d[\dhmsµn.]*s\n"
    r"(load duration:        \d[\dhmsµn.]*s\n)?"
    r"prompt eval count:    (\d+) token\(s\)\n"
    r"prompt eval duration: \d[\dhmsµn.]*s\n"
    r"prompt eval rate:     \d+\.\d\d tokens/s\n"
    r"eval count:           (\d+) token\(s\)\n"
    r"eval duration:        \d[\dhmsµn.]*s\n"
    r"eval rate:            \d+\.\d\d tokens/s\n$"
)


def add_tiny(server: LiveServer, tmp_path: Path, name: str = "tiny", **parameters: Any) -> None:
    """Create ``name`` on ``server``: a tiny random model with a chat template, greedy, short answers."""
    path = tmp_path / "tiny.gguf"
    if not path.exists():
        write_tiny_gguf(path, seed=1)
    data = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert server.client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    body = {
        "model": name,
        "files": {"tiny.gguf": digest},
        "template": builtin_template("chatml").template,
        "parameters": {"temperature": 0, "top_k": 1, "seed": 7, "num_predict": 6, **parameters},
        "stream": False,
    }
    r = server.client.post("/api/create", json=body)
    assert r.status_code == 200, r.text


def cli_env(base_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m corral`` subprocess that talks to ``base_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "CORRAL_"))}
    env.update(
        CORRAL_HOST=base_url.removeprefix("http://"),
        HOME=str(home),
        PYTHONPATH=str(REPO),
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm",
        **extra,
    )
    return env


def api_answer(server: LiveServer, prompt: str, model: str = "tiny") -> dict[str, Any]:
    r = server.client.post("/api/generate", json={"model": model, "prompt": prompt, "stream": False})
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
def tiny(cli_live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    add_tiny(cli_live_server, tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal, nothing piped
    return cli_live_server


def test_one_shot_prints_the_streamed_answer_and_verbose_stats(
    tiny: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = api_answer(tiny, "hello world")
    assert main(["run", "tiny", "--verbose", "hello", "world"]) == 0
    captured = capsys.readouterr()
    assert captured.out == expected["response"] + "\n\n"
    stats = STATS.search(captured.err)
    assert stats, captured.err
    assert int(stats.group(2)) == expected["prompt_eval_count"]
    assert int(stats.group(3)) == expected["eval_count"]


def test_flags_may_sit_between_prompt_words(tiny: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    expected = api_answer(tiny, "hello world")["response"]
    assert main(["run", "tiny", "hello", "--nowordwrap", "world"]) == 0
    assert capsys.readouterr().out == expected + "\n\n"


def test_format_json_and_keepalive_reach_the_server(
    tiny: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "tiny", "--format", "json", "--keepalive", "10m", "the", "cat"]) == 0
    json.loads(capsys.readouterr().out)  # the JSON grammar constrained the answer
    assert main(["ps"]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert re.search(r"\b(9|10) minutes from now\b", row), row


def test_piped_stdin_is_the_prompt(tiny: LiveServer, tmp_path: Path) -> None:
    env = cli_env(tiny.base_url, tmp_path / "home")
    cmd = [sys.executable, "-m", "corral", "run", "tiny"]
    done = subprocess.run(cmd, input="hello world\n", env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == api_answer(tiny, "hello world\n")["response"] + "\n\n"
    # Arguments follow the piped text, separated by a space, as with Ollama.
    done = subprocess.run(
        [*cmd, "the", "cat"], input="hi", env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == api_answer(tiny, "hi the cat")["response"] + "\n\n"


def test_bad_flag_values_fail_before_any_request(dead_host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "tiny", "--keepalive", "abc", "hi"]) == 1
    assert capsys.readouterr().err == 'Error: time: invalid duration "abc"\n'
    assert main(["run", "tiny", "--think=maybe", "hi"]) == 2
    assert "ignored explicit argument 'maybe'" in capsys.readouterr().err


def test_missing_model_error_comes_from_the_pull(
    tiny: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "nosuchmodel", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pulling manifest") and "Error: " in err


def test_run_starts_a_background_server_when_none_answers(servers: Any, tmp_path: Path) -> None:
    models = tmp_path / "models"
    add_tiny(servers.start(models=models), tmp_path)  # a store with the model, served elsewhere
    port = free_port()
    home = tmp_path / "home"
    env = cli_env(f"http://127.0.0.1:{port}", home, CORRAL_MODELS=str(models))
    cmd = [sys.executable, "-m", "corral", "run", "tiny", "hello"]
    pid = None
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        found = re.search(r"started corral serve in the background \(pid (\d+), log: (.+)\)\n", done.stderr)
        assert found, done.stderr
        pid = int(found.group(1))
        assert done.returncode == 0, done.stderr
        assert Path(found.group(2)) == home / ".corral" / "logs" / "server.log"
        assert done.stdout.endswith("\n\n") and done.stdout.strip()
        # The server outlives the command; the next run uses it instead of starting another.
        assert httpx.get(f"http://127.0.0.1:{port}/api/version").status_code == 200
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "started corral serve" not in again.stderr
        assert again.stdout == done.stdout
    finally:
        for leftover in [pid] if pid is not None else _started_for(port):
            _kill(leftover)


def _started_for(port: int) -> list[int]:
    """Processes whose environment points at ``port``: what the CLI started, if its output was lost."""
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"CORRAL_HOST=127.0.0.1:{port}".encode() in environ.read_bytes().split(b"\0"):
                pids.append(int(environ.parent.name))
        except OSError:
            continue
    return pids


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return
        except ChildProcessError:  # not our child (the CLI subprocess started it): poll its existence
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.integration
def test_run_pulls_a_missing_model_and_answers(live_server: LiveServer, tmp_path: Path) -> None:
    env = cli_env(live_server.base_url, tmp_path / "home")
    run = [sys.executable, "-m", "corral", "run"]
    # Not on the server yet: run pulls it (progress on stderr), then, with no prompt, only loads it.
    done = subprocess.run(
        [*run, "gemma3:270m"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("pulling manifest") and "\nsuccess\n" in done.stderr
    assert done.stdout == ""
    assert [m["name"] for m in live_server.client.get("/api/ps").json()["models"]] == ["gemma3:270m"]
    # A greedy, bounded variant answers a real question (a subprocess: a runaway fails in bounded time).
    r = live_server.client.post(
        "/api/create",
        json={
            "model": "g",
            "from": "gemma3:270m",
            "stream": False,
            "parameters": {"temperature": 0, "num_predict": 24},
        },
    )
    assert r.status_code == 200, r.text
    done = subprocess.run(
        [*run, "g", "--verbose", "Say hello."],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and done.stdout.endswith("\n\n") and "<end_of_turn>" not in done.stdout
    stats = STATS.search(done.stderr)
    assert stats and 0 < int(stats.group(3)) <= 24, done.stderr
