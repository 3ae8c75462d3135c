"""The server's stand-in for a runner that lives in a worker process.

:func:`start_worker` starts the process and loads the model in it; the :class:`WorkerRunner` it
returns is a :class:`~corral.core.engine.Runner` like any other (the scheduler and the inference
service cannot tell the difference) whose methods are messages to the worker. A dead worker turns
every call into Ollama's ``llama runner process has terminated`` error (500).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from corral.core.engine import GenerateParams, LoadParams, ModelSpec, RunnerCapabilities, TokenOut
from corral.core.errors import CorralError
from corral.core.worker.messages import (
    Call,
    Cancel,
    Done,
    Failed,
    Generate,
    Load,
    LoadFailed,
    Result,
    RunnerInfo,
    Token,
)
from corral.core.worker.process import Terminated, WorkerProcess

__all__ = ["WorkerRunner", "start_worker"]

_POLL_S = 0.05
"""How often a generation waiting for its next token looks at its cancel flag."""
_TOKENIZE_CACHE = 512
_TOKENIZE_CACHE_MAX_CHARS = 1 << 16


def start_worker(
    module: str,
    backend: str,
    spec: ModelSpec,
    params: LoadParams,
    started: Callable[[WorkerProcess], None],
    timeout_s: float = 0.0,
) -> WorkerRunner:
    """Start a worker, load ``spec`` with plugin ``module``'s backend ``backend`` and return its runner.

    ``started`` receives the process as soon as it runs (load progress). ``timeout_s`` > 0 bounds a
    load that stops making progress. Raises :class:`CorralError`: the backend's own load error, or
    the process's termination.
    """
    process = WorkerProcess()
    started(process)
    # The worker reads the GGUF header itself: metadata values are not all plain data.
    message = Load(module, backend, dataclasses.replace(spec, metadata={}), params)
    answer = process.load(message, timeout_s)
    if isinstance(answer, Terminated):
        raise CorralError(answer.message, 500)
    if isinstance(answer, LoadFailed):
        process.close()
        raise CorralError(answer.message, answer.status)
    return WorkerRunner(process, answer.info)


class WorkerRunner:
    """A :class:`~corral.core.engine.Runner` whose model is loaded in a worker process."""

    def __init__(self, process: WorkerProcess, info: RunnerInfo) -> None:
        self.process = process
        self.backend = info.backend
        self.context_length = info.context_length
        self.capabilities: RunnerCapabilities = info.capabilities
        self._memory_bytes = info.memory_bytes
        self.vram_bytes = info.vram_bytes
        self._kv_usage: tuple[int, int] | None = None
        self._tokenized: OrderedDict[tuple[str, bool, bool], list[int]] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Optional runner methods exist here exactly when the worker's runner has them (the core
        # looks them up with getattr).
        self.kv_usage: Callable[[], tuple[int, int]] | None = (
            self._last_kv_usage if "kv_usage" in info.methods else None
        )
        self.embed_many: Callable[[Sequence[Sequence[int]]], list[list[float]]] | None = (
            self._embed_many if "embed_many" in info.methods else None
        )
        self.logits: Callable[[Sequence[int]], list[float]] | None = (
            self._logits if "logits" in info.methods else None
        )

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        """False once the worker has died."""
        return self.process.terminated is None

    @property
    def memory_bytes(self) -> int:
        """What the model really uses: the larger of the worker's resident memory plus its
        accelerator memory, and the runner's own figure (buffers it reserved but has not touched)."""
        rss = self.process.rss_bytes()
        if rss is None:
            return self._memory_bytes
        return max(self._memory_bytes, rss + self.vram_bytes)

    def on_exit(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(message)`` (from a background thread) if the worker dies unasked."""
        self.process.on_exit(callback)

    # --- the Runner protocol -------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Ask the worker, or answer from a small cache: prompt assembly tokenizes the same messages
        on every turn of a conversation."""
        key = (text, add_special, parse_special)
        with self._cache_lock:
            cached = self._tokenized.get(key)
            if cached is not None:
                self._tokenized.move_to_end(key)
                return list(cached)
        answer = self._call("tokenize", text, add_special=add_special, parse_special=parse_special)
        tokens = [int(t) for t in answer]
        if len(text) <= _TOKENIZE_CACHE_MAX_CHARS:
            with self._cache_lock:
                self._tokenized[key] = tokens
                if len(self._tokenized) > _TOKENIZE_CACHE:
                    self._tokenized.popitem(last=False)
        return list(tokens)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        return bytes(self._call("detokenize", list(tokens)))

    def embed(self, tokens: Sequence[int]) -> list[float]:
        return [float(x) for x in self._call("embed", list(tokens))]

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Tokens as the worker sends them. Leaving early (``cancel`` set, or the iterator closed)
        cancels the generation in the worker and waits until it has ended there, so the runner's
        sequence is free again before the caller's slot is."""
        rid, answers = self.process.open()
        ended, cancelled = False, False
        try:
            self.process.send(Generate(rid, params))
            while True:
                try:
                    answer = answers.get(timeout=_POLL_S)
                except queue.Empty:
                    if cancel.is_set() and not cancelled:
                        cancelled = self.process.send(Cancel(rid))
                    continue
                if isinstance(answer, Token):
                    yield answer.out
                    continue
                ended = True
                if isinstance(answer, Done):
                    self._kv_usage = answer.kv_usage
                    return
                raise _error(answer)
        finally:
            if not ended:
                self._finish(rid, answers, cancelled)
            self.process.forget(rid)

    def close(self) -> None:
        self.process.close()

    # --- the optional methods ------------------------------------------------------------------

    def _last_kv_usage(self) -> tuple[int, int]:
        """The KV occupancy the worker reported with the last finished generation."""
        return self._kv_usage if self._kv_usage is not None else (0, self.context_length)

    def _embed_many(self, batch: Sequence[Sequence[int]]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self._call("embed_many", [list(t) for t in batch])]

    def _logits(self, tokens: Sequence[int]) -> list[float]:
        return [float(x) for x in self._call("logits", list(tokens))]

    # --- plumbing ------------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        rid, answers = self.process.open()
        try:
            self.process.send(Call(rid, method, list(args), kwargs))
            answer = answers.get()
            if isinstance(answer, Result):
                return answer.value
            raise _error(answer)
        finally:
            self.process.forget(rid)

    def _finish(self, rid: int, answers: Any, cancelled: bool) -> None:
        """Cancel generation ``rid`` in the worker and wait for its end (or the worker's)."""
        if not cancelled and not self.process.send(Cancel(rid)):
            return
        while True:
            answer = answers.get()
            if isinstance(answer, Done | Failed | Terminated):
                return


def _error(answer: object) -> CorralError:
    if isinstance(answer, Failed):
        return CorralError(answer.message, answer.status)
    if isinstance(answer, Terminated):
        return CorralError(answer.message, 500)
    return CorralError(f"unexpected answer from a worker: {type(answer).__name__}", 500)
