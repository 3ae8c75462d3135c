"""The worker process: loads one model with its backend and serves the runner to the server.

Started as ``python -m corral.core.worker <fd>`` with one end of a socket pair. It reads a
:class:`~corral.core.worker.messages.Load`, loads, answers ``Ready`` (or ``LoadFailed`` and exits),
then serves generations (one thread each, as many at once as the runner's ``sequences``) and calls
until ``Close`` or until the server's end of the socket closes — then it exits at once, so a worker
never outlives its server.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import select
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from corral.core.backend_choice import probe_metadata
from corral.core.engine import Runner, capabilities_of
from corral.core.errors import CorralError
from corral.core.gguf import read_model_file
from corral.core.worker.messages import (
    Call,
    Cancel,
    Close,
    Done,
    Failed,
    Generate,
    Load,
    LoadFailed,
    Progress,
    Ready,
    Result,
    RunnerInfo,
    Token,
    Wire,
    worker_wire,
)
from corral.plugins.origins import load_backend

__all__ = ["CALLABLE", "main"]

log = logging.getLogger("corral.worker")

CALLABLE = frozenset({"tokenize", "detokenize", "embed", "embed_many", "kv_usage", "logits"})
"""Runner methods the server may call through :class:`Call`."""

_OPTIONAL = ("kv_usage", "embed_many", "logits")
_PROGRESS_EVERY_S = 0.25


class _Worker:
    def __init__(self, wire: Wire, runner: Runner) -> None:
        self.wire = wire
        self.runner = runner
        self.cancels: dict[int, threading.Event] = {}
        self.lock = threading.Lock()
        self.calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="corral-call")

    def serve(self) -> None:
        """Handle messages until Close or end of stream, then exit the process."""
        while True:
            message = self.wire.recv()
            if message is None:
                os._exit(0)  # the server is gone: nothing to close for, nothing to wait for
            if isinstance(message, Generate):
                cancel = threading.Event()
                with self.lock:
                    self.cancels[message.rid] = cancel
                threading.Thread(
                    target=self._generate, args=(message, cancel), name="corral-generate", daemon=True
                ).start()
            elif isinstance(message, Cancel):
                with self.lock:
                    event = self.cancels.get(message.rid)
                if event is not None:
                    event.set()
            elif isinstance(message, Call):
                self.calls.submit(self._call, message)
            elif isinstance(message, Close):
                self.runner.close()
                os._exit(0)

    def _generate(self, message: Generate, cancel: threading.Event) -> None:
        try:
            for out in self.runner.generate(message.params, cancel):
                self.wire.send(Token(message.rid, out))
                if cancel.is_set():
                    break
            usage = getattr(self.runner, "kv_usage", None)
            self.wire.send(Done(message.rid, tuple(usage()) if usage is not None else None))
        except Exception as exc:
            self._fail(message.rid, exc)
        finally:
            with self.lock:
                self.cancels.pop(message.rid, None)

    def _call(self, message: Call) -> None:
        try:
            if message.method not in CALLABLE:
                raise CorralError(f"a worker does not serve {message.method!r}", 500)
            value = getattr(self.runner, message.method)(*message.args, **message.kwargs)
            self.wire.send(Result(message.rid, _plain(value)))
        except Exception as exc:
            self._fail(message.rid, exc)

    def _fail(self, rid: int, exc: Exception) -> None:
        if isinstance(exc, CorralError):
            failed = Failed(rid, exc.message, exc.status)
        else:
            log.exception("runner failed")
            failed = Failed(rid, f"{type(exc).__name__}: {exc}", 500)
        try:
            self.wire.send(failed)
        except OSError:
            os._exit(0)


def _plain(value: Any) -> Any:
    """Numpy arrays and tuples as lists, so msgspec can send them."""
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return tolist()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _load(wire: Wire, sock: socket.socket, message: Load) -> Runner:
    backend = load_backend(message.module, message.backend)
    info = read_model_file(message.spec.model_path, keep_arrays=False)
    spec = dataclasses.replace(message.spec, metadata=probe_metadata(info))
    result: list[Runner] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(backend.load(spec, message.params))
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="corral-load", daemon=True)
    thread.start()
    progress = getattr(backend, "load_progress", None)
    while thread.is_alive():
        thread.join(_PROGRESS_EVERY_S)
        # The server sends nothing while a load runs: anything readable is its end closing (it
        # exited, or gave up on the load), so the worker does not finish a load nobody awaits.
        if select.select([sock], [], [], 0)[0]:
            os._exit(0)
        if progress is not None and thread.is_alive():
            value = progress(spec)
            if value is not None:
                wire.send(Progress(float(value)))
    if errors:
        raise errors[0]
    return result[0]


def main(argv: list[str]) -> int:
    """Serve one model over the socket whose file descriptor is ``argv[0]``."""
    logging.basicConfig(level=os.environ.get("CORRAL_WORKER_LOG", "WARNING"), stream=sys.stderr)
    sock = socket.socket(fileno=int(argv[0]))
    wire = worker_wire(sock.makefile("rb"), sock.makefile("wb"))
    message = wire.recv()
    if not isinstance(message, Load):
        return 0
    try:
        runner = _load(wire, sock, message)
    except CorralError as exc:
        wire.send(LoadFailed(exc.message, exc.status))
        return 1
    except Exception as exc:
        wire.send(LoadFailed(f"{type(exc).__name__}: {exc}", 500))
        return 1
    info = RunnerInfo(
        backend=runner.backend,
        context_length=int(runner.context_length),
        memory_bytes=int(runner.memory_bytes),
        vram_bytes=int(runner.vram_bytes),
        capabilities=capabilities_of(runner),
        methods=[name for name in _OPTIONAL if callable(getattr(runner, name, None))],
    )
    wire.send(Ready(info))
    _Worker(wire, runner).serve()
    return 0
