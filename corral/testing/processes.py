"""Helper processes in tests (a registry, Prometheus, ``corral serve``...): a free loopback port,
waiting until the process answers HTTP, and stopping it."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["child_pids", "free_port", "stop_process", "wait_for_http"]


def child_pids(pid: int) -> set[int]:
    """The direct children of process ``pid`` (Linux ``/proc``), e.g. a server's model workers."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(p) for p in (task / "children").read_text().split())
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of the call)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(
    url: str,
    proc: subprocess.Popen[Any] | None = None,
    *,
    name: str = "the server",
    timeout: float = 30.0,
    interval: float = 0.1,
    request_timeout: float = 1.0,
    any_status: bool = False,
    log: Path | None = None,
) -> None:
    """Poll ``GET url`` until it answers 200 (any status with ``any_status``).

    Raises :class:`RuntimeError` ``<name> did not start`` (followed by the text of ``log`` when
    given) once ``proc`` has exited or ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = httpx.get(url, timeout=request_timeout).status_code
            if any_status or status == 200:
                return
        except httpx.HTTPError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            detail = ":\n" + log.read_text(errors="replace") if log is not None else ""
            raise RuntimeError(f"{name} did not start{detail}")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> bool:
    """SIGTERM ``proc`` and wait up to ``timeout`` seconds, then kill it; True when it had to be killed."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True
    return False
