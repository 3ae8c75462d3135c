"""The scheduler's memory budget and dead runners, with the scripted fake backend of
``test_scheduler`` (no model, no HTTP): RAM (CORRAL_MAX_MEMORY, what is available now), GPU memory
(CORRAL_GPU_OVERHEAD), and a runner whose worker process died."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from corral.core.config import load_config
from corral.core.engine import Fit, GpuInfo, HostInfo, LoadParams, ModelSpec
from corral.core.errors import CorralError
from corral.core.scheduler import Scheduler
from tests.core.test_scheduler import FakeBackend, FakeRunner, hold, local, no_gguf, settle

__all__ = ["no_gguf"]  # the fixture, used here through autouse

GIB = 1 << 30


class BigBackend(FakeBackend):
    """Says each model needs 3 GiB (its runners use that much)."""

    def estimate_memory(self, model: ModelSpec, params: LoadParams) -> int:
        return 3 << 30

    def load(self, model: ModelSpec, params: LoadParams) -> FakeRunner:
        runner = super().load(model, params)
        runner.memory_bytes = 3 << 30
        return runner


def test_loads_are_admitted_against_the_memory_budget_evicting_idle_models() -> None:
    async def main() -> None:
        backend = BigBackend()
        config = load_config({}, max_loaded_models=5)
        sched = Scheduler(config, {"fake": backend}, HostInfo(cpu_count=2, memory_bytes=8 << 30))
        release = asyncio.Event()
        release.set()
        await hold(sched, local("a"), release)
        await hold(sched, local("b"), release)  # 6 GiB of a 7.2 GiB budget
        await hold(sched, local("c"), release)  # does not fit: a, the least recently used, goes
        loaded = sorted(m.local.name.display_shortest() for m in sched.running())
        assert loaded == ["b:latest", "c:latest"]
        await sched.shutdown()

    asyncio.run(main())


def test_a_model_bigger_than_the_budget_is_refused_with_ollamas_message() -> None:
    async def main() -> None:
        sched = Scheduler(
            load_config({}), {"fake": BigBackend()}, HostInfo(cpu_count=2, memory_bytes=2 << 30)
        )
        with pytest.raises(CorralError, match=r"model requires more system memory \(3.0 GiB\)"):
            await hold(sched, local("a"), asyncio.Event())
        assert not sched.running()

    asyncio.run(main())


def running(sched: Scheduler) -> list[str]:
    return sorted(m.local.name.display_shortest() for m in sched.running())


def test_max_memory_overrides_the_share_of_ram() -> None:
    async def main() -> None:
        config = load_config({"CORRAL_MAX_MEMORY": "4G"}, max_loaded_models=5)
        sched = Scheduler(config, {"fake": BigBackend()}, HostInfo(cpu_count=2, memory_bytes=64 * GIB))
        release = asyncio.Event()
        release.set()
        await hold(sched, local("a"), release)
        await hold(sched, local("b"), release)  # 3 + 3 GiB > 4 GiB: a goes
        assert running(sched) == ["b:latest"]
        await sched.shutdown()

    asyncio.run(main())


def test_what_is_available_now_bounds_the_budget() -> None:
    async def main() -> None:
        sched = Scheduler(
            load_config({}), {"fake": BigBackend()}, HostInfo(cpu_count=2, memory_bytes=64 * GIB)
        )
        sched.budget = dataclasses.replace(sched.budget, available=lambda: 2 * GIB)
        with pytest.raises(
            CorralError, match=r"requires more system memory \(3.0 GiB\) than is available \(1.8 GiB\)"
        ):
            await hold(sched, local("a"), asyncio.Event())
        assert not sched.running()

    asyncio.run(main())


class GpuRunner(FakeRunner):
    vram_bytes = 16 * GIB
    memory_bytes = 16 * GIB + 1000


class GpuBackend(FakeBackend):
    """Offloads every model whole: 16 GiB of GPU memory each."""

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        return Fit(100.0, "fake GPU", gpu=True)

    def estimate_memory(self, model: ModelSpec, params: LoadParams) -> int:
        return 16 * GIB

    def load(self, model: ModelSpec, params: LoadParams) -> GpuRunner:
        self.loads.append((model.name, params))
        return GpuRunner(model.name, self.sequences)


GPU_HOST = HostInfo(
    cpu_count=8,
    memory_bytes=64 * GIB,
    cuda_devices=1,
    gpu_memory_bytes=40 * GIB,
    gpus=(GpuInfo(0, "NVIDIA A100-SXM4-40GB", 40 * GIB, 39 * GIB),),
)


@pytest.mark.parametrize(("overhead", "expected"), [("0", ["a:latest", "b:latest"]), ("10G", ["b:latest"])])
def test_gpu_memory_is_budgeted_with_the_overhead_left_free(overhead: str, expected: list[str]) -> None:
    async def main() -> None:
        config = load_config({"OLLAMA_GPU_OVERHEAD": overhead}, max_loaded_models=5)
        sched = Scheduler(config, {"fake": GpuBackend()}, GPU_HOST)
        release = asyncio.Event()
        release.set()
        await hold(sched, local("a"), release)
        await hold(sched, local("b"), release)  # 32 GiB fit in 40, not in 40 - 10
        assert running(sched) == expected
        await sched.shutdown()

    asyncio.run(main())


class MortalRunner(FakeRunner):
    """Stands for a worker process: ``die()`` does what a dead worker's reader thread does."""

    def __init__(self, model: str, sequences: int) -> None:
        super().__init__(model, sequences)
        self.alive = True
        self.callbacks: list[Callable[[str], None]] = []

    def on_exit(self, callback: Callable[[str], None]) -> None:
        self.callbacks.append(callback)

    def die(self) -> None:
        self.alive = False
        for callback in self.callbacks:
            callback("llama runner process has terminated: signal: killed")


class MortalBackend(FakeBackend):
    def load(self, model: ModelSpec, params: LoadParams) -> Any:
        runner = MortalRunner(model.name, self.sequences)
        self.runners.append(runner)
        return runner


async def load_mortal() -> tuple[Scheduler, MortalBackend, MortalRunner, asyncio.Event]:
    """A scheduler that has loaded model ``a`` once into a :class:`MortalRunner` (now idle)."""
    backend = MortalBackend()
    sched = Scheduler(load_config({}), {"fake": backend}, HostInfo(2, 8 * GIB))
    release = asyncio.Event()
    release.set()
    await hold(sched, local("a"), release)
    first = backend.runners[0]
    assert isinstance(first, MortalRunner)
    return sched, backend, first, release


def test_a_dead_runner_is_unloaded_and_the_next_request_loads_again() -> None:
    async def main() -> None:
        sched, backend, first, release = await load_mortal()
        await asyncio.to_thread(first.die)  # from another thread, as the reader thread calls it
        await settle(lambda: first.closed and not sched.running())
        await hold(sched, local("a"), release)
        assert len(backend.runners) == 2 and running(sched) == ["a:latest"]
        await sched.shutdown()

    asyncio.run(main())


def test_a_dead_runner_found_before_its_callback_ran_is_replaced() -> None:
    async def main() -> None:
        sched, backend, first, release = await load_mortal()
        first.alive = False  # dead, but the exit callback has not reached the scheduler yet
        await hold(sched, local("a"), release)
        assert first.closed and len(backend.runners) == 2
        await sched.shutdown()

    asyncio.run(main())
