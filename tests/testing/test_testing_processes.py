"""corral.testing's helper-process utilities: waiting until a server answers, stopping a process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from corral.testing import free_port, stop_process, wait_for_http
from tests.conftest import LiveServer


def test_wait_for_http_returns_once_the_server_answers(live_server: LiveServer) -> None:
    wait_for_http(f"{live_server.base_url}/api/version", timeout=5)


def test_wait_for_http_wants_200_unless_any_status(live_server: LiveServer) -> None:
    missing = f"{live_server.base_url}/no/such/route"
    with pytest.raises(RuntimeError, match=r"^demo did not start$"):
        wait_for_http(missing, name="demo", timeout=0.3, interval=0.05)
    wait_for_http(missing, timeout=5, any_status=True)


def test_wait_for_http_gives_up_when_the_process_exits(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    log.write_text("boom\n")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^demo did not start:\nboom\n$"):
        wait_for_http(f"http://127.0.0.1:{free_port()}/", proc, name="demo", timeout=30, log=log)
    assert time.monotonic() - start < 5


def test_stop_process_kills_what_ignores_sigterm() -> None:
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert stop_process(polite) is False and polite.returncode is not None
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
            " print(flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout is not None and stubborn.stdout.readline()  # the handler is in place
    assert stop_process(stubborn, timeout=0.5) is True and stubborn.returncode == -9
    stubborn.stdout.close()
