"""A worker process seen from the server: start it, talk to it, notice when it dies and say how.

One reader thread takes every message off the socket and hands it to whoever waits for it (a
generation, a call, the load) by request id; when the socket ends, it reaps the process and tells
every waiter — and the scheduler, through :meth:`WorkerProcess.on_exit` — that the runner process
has terminated, with its exit status or signal and the last error line it printed, as Ollama says it.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from corral.core.worker.messages import Close, Load, LoadFailed, Progress, Ready, Wire, server_wire

__all__ = ["Terminated", "WorkerProcess", "describe_exit"]

log = logging.getLogger("corral.worker")

_ERROR_LINE = re.compile(r"error|assert|abort|terminate called|exception|fault", re.IGNORECASE)
_LOAD_ID = 0
"""Request id of the load: the worker's Ready/LoadFailed/Progress messages."""


@dataclass(frozen=True)
class Terminated:
    """Put in every waiter's queue when the worker has died."""

    message: str


def describe_exit(returncode: int) -> str:
    """An exit status as Go's ``exec.ExitError`` prints it (Ollama's wording): ``exit status 2``,
    ``signal: killed``, ``signal: segmentation fault``."""
    if returncode < 0:
        try:
            name = signal.strsignal(-returncode) or f"signal {-returncode}"
        except ValueError:
            name = f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"


class WorkerProcess:
    """A started worker process and its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self._sock = ours
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # ggml prints a backtrace on abort by attaching gdb to the dying process: seconds of work
        # whose output nobody reads here (the error line is what the client gets).
        env.setdefault("GGML_NO_BACKTRACE", "1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "corral.core.worker", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        theirs.close()
        self.pid = self.proc.pid
        self.wire: Wire = server_wire(ours.makefile("rb"), ours.makefile("wb"))
        self.progress: float | None = None
        """The load's progress as the worker last reported it."""
        self._ids = itertools.count(_LOAD_ID + 1)
        self._waiters: dict[int, queue.SimpleQueue[object]] = {_LOAD_ID: queue.SimpleQueue()}
        self._lock = threading.Lock()
        self._output: collections.deque[str] = collections.deque(maxlen=50)
        self._exit_callbacks: list[Callable[[str], None]] = []
        self.terminated: str | None = None
        """Set (to the error message) once the process has died."""
        self._closing = False
        self._output_thread = threading.Thread(
            target=self._read_output, name="corral-worker-out", daemon=True
        )
        self._output_thread.start()
        threading.Thread(target=self._read_messages, name="corral-worker-in", daemon=True).start()

    # --- requests ------------------------------------------------------------------------------

    def open(self) -> tuple[int, queue.SimpleQueue[object]]:
        """A new request id and the queue its answers arrive in (a :class:`Terminated` if it dies)."""
        rid = next(self._ids)
        answers: queue.SimpleQueue[object] = queue.SimpleQueue()
        with self._lock:
            if self.terminated is not None:
                answers.put(Terminated(self.terminated))
            self._waiters[rid] = answers
        return rid, answers

    def forget(self, rid: int) -> None:
        """Stop routing answers for ``rid``."""
        with self._lock:
            self._waiters.pop(rid, None)

    def send(self, message: msgspec.Struct) -> bool:
        """Send ``message``; False when the worker is gone (its waiters get :class:`Terminated`)."""
        if self.terminated is not None:
            return False
        try:
            self.wire.send(message)
        except OSError:
            return False
        return True

    def load(self, message: Load, timeout_s: float = 0.0) -> Ready | LoadFailed | Terminated:
        """Send the load and wait for its outcome. With ``timeout_s`` > 0, a load that makes no
        progress for that long is killed and answered with Ollama's ``timed out waiting for llama
        runner to start`` (the clock restarts whenever the worker reports progress)."""
        self.send(message)
        answers = self._waiters[_LOAD_ID]
        seen, since = self.progress, time.monotonic()
        while True:
            try:
                answer = answers.get(timeout=0.25)
            except queue.Empty:
                if self.progress != seen:
                    seen, since = self.progress, time.monotonic()
                elif timeout_s > 0 and time.monotonic() - since > timeout_s:
                    self.kill()
                    return Terminated(
                        f"timed out waiting for llama runner to start - progress {seen or 0.0:.2f} - "
                    )
                continue
            if isinstance(answer, Ready | LoadFailed | Terminated):
                return answer

    def on_exit(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(message)`` from the reader thread when the process dies unasked."""
        self._exit_callbacks.append(callback)

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self, timeout_s: float = 10.0) -> None:
        """Ask the worker to close its runner and exit; kill it when it does not within ``timeout_s``."""
        self._closing = True
        self.send(Close())
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not exit in %.0f s; killing it", self.pid, timeout_s)
            self.proc.kill()
            self.proc.wait()
        self._sock.close()

    def kill(self) -> None:
        """End the worker now (a load nobody waits for any more)."""
        self._closing = True
        self.proc.kill()
        self.proc.wait()
        self._sock.close()

    def rss_bytes(self) -> int | None:
        """The worker's resident memory (Linux ``/proc``), or None when unknown."""
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return None

    # --- reader threads ------------------------------------------------------------------------

    def _read_messages(self) -> None:
        while True:
            try:
                message = self.wire.recv()
            except (OSError, ValueError, msgspec.DecodeError):
                message = None
            if message is None:
                break
            if isinstance(message, Progress):
                self.progress = message.value
                continue
            rid = getattr(message, "rid", _LOAD_ID)
            with self._lock:
                answers = self._waiters.get(rid)
            if answers is not None:
                answers.put(message)
        self._died()

    def _died(self) -> None:
        returncode = self.proc.wait()
        self._output_thread.join(2.0)
        text = f"llama runner process has terminated: {describe_exit(returncode)}"
        last = self.last_error()
        if last:
            text = f"{text}: {last}"
        with self._lock:
            self.terminated = text
            waiters = list(self._waiters.values())
        for answers in waiters:
            answers.put(Terminated(text))
        if self._closing:
            return
        log.error("worker %d for a model died: %s", self.pid, text)
        for callback in self._exit_callbacks:
            try:
                callback(text)
            except Exception:
                log.exception("worker exit callback failed")

    def _read_output(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._output.append(line)
                log.debug("worker %d: %s", self.pid, line)

    def last_error(self) -> str:
        """The last line the worker printed that reads like an error, if any."""
        for line in reversed(self._output):
            if _ERROR_LINE.search(line):
                return line.strip()[:500]
        return ""
