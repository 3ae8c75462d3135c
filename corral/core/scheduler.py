"""Loaded runners: load on first use, share, queue, expire (keep_alive), evict (LRU), unload.

All bookkeeping happens on the event loop under one asyncio lock; loading and closing run in
worker threads. A request holds a :class:`Lease` while it uses a runner. Models being loaded are
listed (:meth:`Scheduler.loading_models`) with the backend's optional ``load_progress``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio import to_thread

from corral.core.backend_choice import Choice, choose_backend, explain_choice, model_spec
from corral.core.config import Config
from corral.core.durations import FOREVER_NS
from corral.core.engine import Backend, HostInfo, LoadParams, ModelSpec, capabilities_of
from corral.core.errors import CorralError, QueueFull
from corral.core.events import (
    Event,
    ModelLoaded,
    ModelLoadFailed,
    ModelUnloaded,
    RequestDequeued,
    RequestQueued,
    RequestReleased,
    current_request_id,
)
from corral.core.loaded import Lease, Loaded, Loading
from corral.core.memory import Budget, Need, gib, memory_needed
from corral.core.store import LocalModel
from corral.core.worker import Launcher, LoadWatch

__all__ = ["Lease", "Loaded", "Loading", "Scheduler"]

log = logging.getLogger("corral.scheduler")


class Scheduler:
    """Owns every loaded runner. ``emit`` receives lifecycle events for observers."""

    def __init__(
        self,
        config: Config,
        backends: dict[str, Backend],
        host: HostInfo,
        emit: Callable[[Event], None] = lambda e: None,
        launcher: Launcher | None = None,
    ) -> None:
        self.config = config
        self.launcher = launcher or Launcher("inprocess", {})
        self.budget = Budget(host, config.max_memory, config.gpu_overhead)
        self.backends = backends
        self.host = host
        self.emit = emit
        self.loaded: dict[str, Loaded] = {}
        self.loading: dict[str, Loading] = {}
        self._lock = asyncio.Lock()
        self._changed = asyncio.Condition(self._lock)
        self._pending = 0
        self._expiry_task: asyncio.Task[None] | None = None
        self._reaping: set[asyncio.Task[None]] = set()

    # --- leases ----------------------------------------------------------------------------

    @asynccontextmanager
    async def lease(
        self,
        local: LocalModel,
        load: LoadParams,
        load_key: tuple[Any, ...],
        keep_alive_ns: int,
        backend_override: str | None,
    ) -> AsyncIterator[Lease]:
        """Hold a runner for ``local`` loaded with ``load``; wait in the bounded queue if needed.

        Raises :class:`QueueFull` (503) when ``MAX_QUEUE`` requests already wait. Leaving the
        block releases the runner and starts its keep-alive timer (0 unloads it at once).
        Cancelling the awaiting task (a client that went away) frees its place immediately.
        """
        if self._pending >= self.config.max_queue:
            raise QueueFull()
        self._pending += 1
        rid, name, admitted = current_request_id(), local.name.display_shortest(), False
        self.emit(RequestQueued(rid, name, self._pending))
        started = time.perf_counter_ns()
        try:
            loaded, _ = await self._acquire(local, load, load_key, backend_override)
            loaded.waiting += 1
            try:
                await loaded.slots.acquire()
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._release(loaded, keep_alive_ns)
                raise
            finally:
                loaded.waiting -= 1
            loaded.in_use += 1
            admitted = True
        finally:
            self._pending -= 1
            self.emit(RequestDequeued(rid, name, self._pending, admitted))
        # Like Ollama's load_duration: everything between asking for the runner and holding it
        # (queueing, loading), so it is never zero even when the model was already loaded.
        load_ns = max(1, time.perf_counter_ns() - started)
        try:
            yield Lease(loaded, load_ns)
        finally:
            self.emit(RequestReleased(rid, name))
            loaded.in_use -= 1
            loaded.slots.release()
            with anyio.CancelScope(shield=True):
                await self._release(loaded, keep_alive_ns)

    async def _acquire(
        self, local: LocalModel, load: LoadParams, load_key: tuple[Any, ...], override: str | None
    ) -> tuple[Loaded, int]:
        key = _model_key(local)
        # The model's description and backend choice, made once per load (they read the GGUF
        # header and run the probes) and used both for the memory check and for the load itself.
        planned: tuple[ModelSpec, Choice, Need] | None = None
        async with self._changed:
            while True:
                current = self.loaded.get(key)
                if current is not None and not current.closing:
                    if not getattr(current.runner, "alive", True):
                        await self._unload_locked(current, "terminated")
                        continue
                    if current.load_key == load_key:
                        current.active += 1
                        current.last_used = time.monotonic()
                        return current, 0
                    if current.active == 0:
                        await self._unload_locked(current, "reload")
                        continue
                elif len(self.loaded) < self.config.max_loaded_models:
                    if planned is None:
                        planned = await to_thread.run_sync(self._plan, local, load, override)
                    need = planned[2]
                    runners = [m.runner for m in self.loaded.values()]
                    if self.budget.fits(need, runners):
                        break
                    victim = self._lru_idle()
                    if victim is not None:
                        await self._unload_locked(victim, "evicted")
                        continue
                    if not self.loaded:
                        raise CorralError(
                            f"model requires more system memory ({gib(need.ram)}) than is available "
                            f"({gib(self.memory_free())})",
                            500,
                        )
                else:
                    victim = self._lru_idle()
                    if victim is not None:
                        await self._unload_locked(victim, "evicted")
                        continue
                await self._changed.wait()
            assert planned is not None  # only a path that planned the load breaks out of the loop
            loaded = await self._load_locked(local, key, load, load_key, planned[0], planned[1])
            loaded.active += 1
            return loaded, loaded.load_duration_ns

    def memory_free(self) -> int:
        """System memory the budget leaves after the loaded models (:mod:`corral.core.memory`)."""
        return self.budget.ram_free([m.runner for m in self.loaded.values()])

    def _plan(
        self, local: LocalModel, load: LoadParams, override: str | None
    ) -> tuple[ModelSpec, Choice, Need]:
        """Describe ``local``, choose its backend and estimate the memory its load needs (a worker
        thread: reads the GGUF header, runs the probes)."""
        spec = model_spec(local, validate=True)
        choice = choose_backend(spec, self.host, self.backends, override or self.config.backend or None)
        return spec, choice, memory_needed(spec, choice, load)

    def _lru_idle(self) -> Loaded | None:
        idle = [m for m in self.loaded.values() if m.active == 0 and not m.closing]
        return min(idle, key=lambda m: m.last_used) if idle else None

    async def _load_locked(
        self,
        local: LocalModel,
        key: str,
        load: LoadParams,
        load_key: tuple[Any, ...],
        spec: ModelSpec,
        choice: Choice,
    ) -> Loaded:
        log.info("loading %s with %s: %s", local.name.display_shortest(), choice.backend.name, choice.reason)
        start = time.perf_counter_ns()
        watch = LoadWatch()
        self.loading[key] = Loading(local, spec, choice, load, time.monotonic(), watch)
        try:
            runner = await to_thread.run_sync(self.launcher.load, choice.backend, spec, load, watch)
        except Exception as exc:
            took_s = (time.perf_counter_ns() - start) / 1e9
            self.emit(ModelLoadFailed(local.name.display_shortest(), choice.backend.name, took_s, str(exc)))
            raise
        finally:
            # No await between here and ``self.loaded[key] = ...``: /api/ps never misses the model.
            self.loading.pop(key, None)
        took = time.perf_counter_ns() - start
        # The runner says how many sequences it got (a batching backend sizes its slots from
        # load.num_parallel and memory); a configured NUM_PARALLEL bounds it further.
        parallel = max(1, capabilities_of(runner).sequences)
        if load.num_parallel > 0:
            parallel = min(parallel, load.num_parallel)
        loaded = Loaded(
            key=key,
            local=local,
            spec=spec,
            choice=choice,
            runner=runner,
            load_key=load_key,
            load_params=load,
            slots=asyncio.Semaphore(parallel),
            load_duration_ns=took,
            num_slots=parallel,
        )
        self.loaded[key] = loaded
        self._watch(loaded)
        self.emit(
            ModelLoaded(local.name.display_shortest(), choice.backend.name, took / 1e9, runner.memory_bytes)
        )
        return loaded

    async def _release(self, loaded: Loaded, keep_alive_ns: int) -> None:
        async with self._changed:
            loaded.active -= 1
            loaded.last_used = time.monotonic()
            loaded.keep_alive_ns = keep_alive_ns
            loaded.expires_at_ns = _expiry(keep_alive_ns)
            if loaded.active == 0 and keep_alive_ns == 0 and not loaded.closing:
                await self._unload_locked(loaded, "unload")
            self._changed.notify_all()
        self._ensure_expiry_task()

    # --- unloading -----------------------------------------------------------------------------

    def _watch(self, loaded: Loaded) -> None:
        """Unload a model whose worker process dies (its requests fail on their own)."""
        on_exit = getattr(loaded.runner, "on_exit", None)
        if on_exit is None:
            return
        loop = asyncio.get_running_loop()

        def died(message: str) -> None:
            with contextlib.suppress(RuntimeError):  # the server is shutting down: loop closed
                loop.call_soon_threadsafe(self._reap, loaded)

        on_exit(died)

    def _reap(self, loaded: Loaded) -> None:
        task = asyncio.get_running_loop().create_task(self._unload_dead(loaded))
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    async def _unload_dead(self, loaded: Loaded) -> None:
        async with self._changed:
            if self.loaded.get(loaded.key) is loaded and not loaded.closing:
                await self._unload_locked(loaded, "terminated")

    async def _unload_locked(self, loaded: Loaded, reason: str) -> None:
        loaded.closing = True
        self.loaded.pop(loaded.key, None)
        await to_thread.run_sync(loaded.runner.close)
        self.emit(ModelUnloaded(loaded.local.name.display_shortest(), loaded.choice.backend.name, reason))
        self._changed.notify_all()

    async def touch(self, local: LocalModel, keep_alive_ns: int) -> bool:
        """Set a loaded model's keep-alive (an empty prompt with keep_alive); True if it was loaded."""
        async with self._changed:
            loaded = self.loaded.get(_model_key(local))
            if loaded is None:
                return False
            loaded.keep_alive_ns = keep_alive_ns
            loaded.expires_at_ns = _expiry(keep_alive_ns)
            if keep_alive_ns == 0 and loaded.active == 0:
                await self._unload_locked(loaded, "unload")
        self._ensure_expiry_task()
        return True

    async def expire(self) -> None:
        """Unload idle models whose keep-alive has run out."""
        now = time.time_ns()
        async with self._changed:
            for loaded in list(self.loaded.values()):
                if loaded.active == 0 and not loaded.closing and loaded.expires_at_ns <= now:
                    await self._unload_locked(loaded, "expired")

    def _ensure_expiry_task(self) -> None:
        if self._expiry_task is None or self._expiry_task.done():
            self._expiry_task = asyncio.get_running_loop().create_task(self._expiry_loop())

    async def _expiry_loop(self) -> None:
        while self.loaded:
            await self.expire()
            soonest = min((m.expires_at_ns for m in self.loaded.values() if m.active == 0), default=None)
            wait = 1.0 if soonest is None else max(0.05, min(1.0, (soonest - time.time_ns()) / 1e9))
            await asyncio.sleep(wait)

    async def shutdown(self) -> None:
        """Close every runner (server shutdown)."""
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        async with self._changed:
            for loaded in list(self.loaded.values()):
                await self._unload_locked(loaded, "shutdown")

    # --- reporting -----------------------------------------------------------------------------

    def running(self) -> list[Loaded]:
        """Loaded models, latest expiry first (``/api/ps`` order)."""
        return sorted(self.loaded.values(), key=lambda m: m.expires_at_ns, reverse=True)

    def loading_models(self) -> list[Loading]:
        """Models being loaded, oldest load first."""
        return sorted(self.loading.values(), key=lambda m: m.started)

    def backend_report(self, local: LocalModel) -> dict[str, str | None]:
        """``{"name", "reason"}`` of the backend running ``local`` (the loaded or loading runner's
        choice), else of the one the policy would choose now; name None when none can run it.

        The override is the model's ``PARAMETER backend``, else ``CORRAL_BACKEND``, as for a load.
        May read the GGUF header: call it from a worker thread.
        """
        key = _model_key(local)
        current = self.loaded.get(key) or self.loading.get(key)
        if current is not None:
            return {"name": current.choice.backend.name, "reason": current.choice.reason}
        override = local.params.get("backend") or self.config.backend or None
        name, reason = explain_choice(local, self.host, self.backends, str(override) if override else None)
        return {"name": name, "reason": reason}

    def find(self, local: LocalModel) -> Loaded | None:
        """The loaded instance of ``local``, if any."""
        return self.loaded.get(_model_key(local))

    @property
    def pending(self) -> int:
        """Requests waiting for a runner."""
        return self._pending


def _model_key(local: LocalModel) -> str:
    weights = [
        layer.digest
        for layer in local.manifest.layers
        if layer.media_type.rsplit(".", 1)[-1] in ("model", "adapter", "projector")
    ]
    return "+".join(weights) or local.name.display_full()


def _expiry(keep_alive_ns: int) -> int:
    if keep_alive_ns >= FOREVER_NS:
        return FOREVER_NS
    return time.time_ns() + keep_alive_ns
