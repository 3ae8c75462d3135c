"""Entry points: ``python -m corral`` in a subprocess, and ``serve`` wiring and help."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest

import corral
from corral.cli.main import main
from corral.core.config import SETTINGS, Config


@pytest.mark.integration
def test_python_m_corral_version(dead_host: str) -> None:
    env = {**os.environ, "CORRAL_HOST": dead_host.removeprefix("http://")}
    env.pop("OLLAMA_HOST", None)
    proc = subprocess.run(
        [sys.executable, "-m", "corral", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"corral version is {corral.__version__}\n"


@pytest.mark.integration
def test_python_m_corral_no_server_exit_code(dead_host: str) -> None:
    env = {**os.environ, "CORRAL_HOST": dead_host.removeprefix("http://")}
    proc = subprocess.run(
        [sys.executable, "-m", "corral", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: could not connect to corral server at {dead_host}")
    assert "Traceback" not in proc.stderr


def test_serve_help_lists_every_setting_with_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for setting in SETTINGS:
        assert setting.env in out
        if setting.ollama_env:
            assert setting.ollama_env in out
        assert f"default: {setting.default or '(none)'}" in out


@pytest.mark.parametrize("name", ["serve", "start"])
def test_serve_runs_the_server_with_the_environment_config(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Config] = []
    fake = types.ModuleType("corral.api.server")
    fake.serve = calls.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "corral.api.server", fake)
    monkeypatch.setenv("CORRAL_HOST", "127.0.0.1:23456")
    monkeypatch.setenv("OLLAMA_KEEP_ALIVE", "10m")
    assert main([name]) == 0
    assert len(calls) == 1
    assert calls[0].host.port == 23456
    assert calls[0].keep_alive_ns == 600 * 10**9
