"""The Scheduler with a scripted fake backend (no model, no HTTP), as Ollama tests its scheduler with
an injected loader: slots, queueing, cancellation, reload, eviction, NUM_PARALLEL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from corral.core import scheduler as scheduler_module
from corral.core.config import load_config
from corral.core.engine import Fit, HostInfo, LoadParams, ModelSpec, RunnerCapabilities
from corral.core.errors import QueueFull
from corral.core.names import parse_name
from corral.core.scheduler import Scheduler
from corral.core.store.manifest import Layer, Manifest
from corral.core.store.models import LocalModel

HOST = HostInfo(cpu_count=2, memory_bytes=8 << 30)


class FakeRunner:
    backend = "fake"
    context_length = 256
    memory_bytes = 1000
    vram_bytes = 0

    def __init__(self, model: str, sequences: int) -> None:
        self.model = model
        self.capabilities = RunnerCapabilities(sequences=sequences)
        self.closed = False

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        return [1]

    def detokenize(self, tokens: Any) -> bytes:
        return b""

    def generate(self, params: Any, cancel: Any) -> Any:
        return iter(())

    def embed(self, tokens: Any) -> list[float]:
        return []

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """Loads FakeRunners; records every load and lets a test choose how many sequences they serve."""

    name = "fake"

    def __init__(self, sequences: int = 4) -> None:
        self.sequences = sequences
        self.loads: list[tuple[str, LoadParams]] = []
        self.runners: list[FakeRunner] = []

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        return Fit(1.0, "fake fits")

    def load(self, model: ModelSpec, params: LoadParams) -> FakeRunner:
        self.loads.append((model.name, params))
        runner = FakeRunner(model.name, self.sequences)
        self.runners.append(runner)
        return runner


def local(name: str) -> LocalModel:
    digest = "sha256:" + name.encode().hex().ljust(64, "0")[:64]
    manifest = Manifest(
        config=Layer("application/vnd.docker.container.image.v1+json", "", 0),
        layers=[Layer("application/vnd.ollama.image.model", digest, 1)],
    )
    return LocalModel(
        name=parse_name(name),
        manifest=manifest,
        digest=digest[7:],
        modified_at=datetime.now(UTC),
        modified_ns=0,
        size=1,
        config={},
        model_path=Path("/nonexistent") / name,
    )


@pytest.fixture(autouse=True)
def no_gguf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Describe models without reading a GGUF (the fake backend needs nothing from it)."""

    def spec(m: LocalModel, **_: Any) -> ModelSpec:
        name = m.name.display_shortest()
        return ModelSpec(name=name, model_path=Path("/x"), digest="", architecture="fake")

    monkeypatch.setattr(scheduler_module, "model_spec", spec)


def make(backend: FakeBackend, **settings: Any) -> Scheduler:
    config = load_config({}, **settings)
    return Scheduler(config, {"fake": backend}, HOST)


LOAD = LoadParams(num_ctx=256)
FOREVER = 10**18


async def hold(sched: Scheduler, model: LocalModel, release: asyncio.Event, load: LoadParams = LOAD) -> None:
    async with sched.lease(model, load, (load,), FOREVER, None):
        await release.wait()


async def settle(until: Any) -> None:
    """Let tasks run (loads happen in worker threads) until ``until()`` holds."""
    for _ in range(1000):
        if until():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the scheduler did not get there")


def test_a_runner_serves_as_many_requests_at_once_as_it_has_slots() -> None:
    async def main() -> None:
        backend = FakeBackend(sequences=2)
        sched = make(backend)
        model, release = local("m"), asyncio.Event()
        tasks = [asyncio.create_task(hold(sched, model, release)) for _ in range(3)]
        await settle(lambda: sched.running() and sched.running()[0].waiting == 1)
        (loaded,) = sched.running()
        assert (loaded.num_slots, loaded.in_use, loaded.waiting) == (2, 2, 1)
        assert len(backend.loads) == 1  # one runner shared by all three
        release.set()
        await asyncio.gather(*tasks)
        assert (loaded.in_use, loaded.waiting) == (0, 0)
        await sched.shutdown()

    asyncio.run(main())


def test_num_parallel_bounds_the_slots_of_a_batching_runner() -> None:
    async def main() -> None:
        backend = FakeBackend(sequences=4)
        sched = make(backend)
        release = asyncio.Event()
        one = LoadParams(num_ctx=256, num_parallel=1)
        tasks = [asyncio.create_task(hold(sched, local("m"), release, one)) for _ in range(2)]
        await settle(lambda: sched.running() and sched.running()[0].waiting == 1)
        (loaded,) = sched.running()
        assert (loaded.num_slots, loaded.in_use, loaded.waiting) == (1, 1, 1)
        assert backend.loads[0][1].num_parallel == 1  # the backend is told how many slots to make
        release.set()
        await asyncio.gather(*tasks)
        await sched.shutdown()

    asyncio.run(main())


def test_a_full_queue_is_refused_and_a_cancelled_waiter_leaves_it() -> None:
    async def main() -> None:
        sched = make(FakeBackend(sequences=1), max_queue=2)
        model, release = local("m"), asyncio.Event()
        running = asyncio.create_task(hold(sched, model, release))
        await settle(lambda: sched.running() and sched.running()[0].in_use == 1)
        waiter = asyncio.create_task(hold(sched, model, release))
        extra = asyncio.create_task(hold(sched, model, release))
        await settle(lambda: sched.pending == 2)
        assert sched.pending == 2
        with pytest.raises(QueueFull):
            await hold(sched, model, release)
        waiter.cancel()  # the client went away while it waited
        await settle(lambda: sched.pending == 1)
        assert sched.pending == 1
        (loaded,) = sched.running()
        assert loaded.waiting == 1 and loaded.in_use == 1
        release.set()
        await asyncio.gather(running, extra)
        assert waiter.cancelled()
        await sched.shutdown()

    asyncio.run(main())


def test_other_load_options_reload_the_model_once_it_is_idle() -> None:
    async def main() -> None:
        backend = FakeBackend()
        sched = make(backend)
        model, release = local("m"), asyncio.Event()
        release.set()
        await hold(sched, model, release)
        await hold(sched, model, release, LoadParams(num_ctx=512))
        assert [p.num_ctx for _, p in backend.loads] == [256, 512]
        assert backend.runners[0].closed and not backend.runners[1].closed
        await sched.shutdown()
        assert backend.runners[1].closed

    asyncio.run(main())


def test_the_least_recently_used_idle_model_is_evicted() -> None:
    async def main() -> None:
        backend = FakeBackend()
        sched = make(backend, max_loaded_models=2)
        release = asyncio.Event()
        release.set()
        for name in ("a", "b", "a", "c"):
            await hold(sched, local(name), release)
        loaded = sorted(m.local.name.display_shortest() for m in sched.running())
        assert loaded == ["a:latest", "c:latest"]  # b was the least recently used
        assert [r.model for r in backend.runners if r.closed] == ["b:latest"]
        await sched.shutdown()

    asyncio.run(main())


def test_a_busy_model_is_not_evicted_the_newcomer_waits() -> None:
    async def main() -> None:
        backend = FakeBackend()
        sched = make(backend, max_loaded_models=1)
        release = asyncio.Event()
        busy = asyncio.create_task(hold(sched, local("a"), release))
        await settle(lambda: bool(sched.running()))
        other = asyncio.create_task(hold(sched, local("b"), release))
        await settle(lambda: sched.pending == 1)
        assert [m.local.name.display_shortest() for m in sched.running()] == ["a:latest"]
        release.set()
        await asyncio.gather(busy, other)
        assert [m.local.name.display_shortest() for m in sched.running()] == ["b:latest"]
        await sched.shutdown()

    asyncio.run(main())
