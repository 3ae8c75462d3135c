"""Starting ``corral serve`` in the background when a client command finds no server to talk to."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import httpx

from corral.cli.client import Client, ClientError, ServerUnreachable

__all__ = ["ensure_server", "server_log_path"]

#: Servers this process started; kept so their handles live (and stay quiet) until exit.
_STARTED: list[subprocess.Popen[bytes]] = []


def server_log_path() -> Path:
    """Where a background server writes its output: ``~/.corral/logs/server.log``."""
    return Path.home() / ".corral" / "logs" / "server.log"


def _is_local(base_url: str) -> bool:
    host = httpx.URL(base_url).host
    return host in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::") or host.startswith("127.")


def ensure_server(base_url: str, *, timeout: float = 60.0, err: TextIO | None = None) -> int | None:
    """Make sure a server answers at ``base_url``; start one in the background if none does.

    The server is ``python -m corral serve`` in a new session (so it outlives this command and
    its terminal) with this process's environment, so it listens where the client connects.
    Returns the new server's process id, or None when a server was already running. Raises
    :class:`ServerUnreachable` for a remote address (nothing to start) and :class:`ClientError`
    when the new server exits or does not answer within ``timeout`` seconds.
    """
    err = err or sys.stderr
    with Client(base_url, connect_timeout=2.0) as client:
        if client.heartbeat():
            return None
        if not _is_local(base_url):
            raise ServerUnreachable(base_url)
        log = server_log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "corral", "serve"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
                start_new_session=True,
            )
        _STARTED.append(process)
        print(f"started corral serve in the background (pid {process.pid}, log: {log})", file=err, flush=True)
        deadline = time.monotonic() + timeout
        while not client.heartbeat():
            code = process.poll()
            if code is not None:
                raise ClientError(f"corral serve exited with status {code}; see {log}")
            if time.monotonic() > deadline:
                raise ClientError(f"corral serve did not answer within {timeout:.0f}s; see {log}")
            time.sleep(0.1)
    return process.pid
