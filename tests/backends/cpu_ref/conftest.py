"""Fixtures for the cpu-ref backend tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cpuref_models import load_cpuref, tiny_path

from corral.backends.cpu_ref.runner import CpuRefRunner


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cpuref-tiny")


@pytest.fixture
def tiny_runner(tiny_dir: Path) -> Iterator[CpuRefRunner]:
    """cpu-ref on the tiny F32 model, prompt chunks of 16 tokens."""
    runner = load_cpuref(tiny_path(tiny_dir, "f32"), num_batch=16)
    yield runner
    runner.close()
