"""Registers this package's backend through the same hook a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from corral.backends.cpu_ref.backend import CpuRefBackend
from corral.core.engine import Backend
from corral.plugins import hookimpl

__all__ = ["corral_register_backends"]


@hookimpl
def corral_register_backends(register: Callable[[Backend], None]) -> None:
    """Contribute the ``cpu-ref`` backend (numpy only; always available)."""
    register(CpuRefBackend())
