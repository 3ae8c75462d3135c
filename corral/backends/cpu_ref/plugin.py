"""Registers this package's backend through the same hook a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from corral.core.engine import Backend
from corral.plugins import hookimpl


@hookimpl
def corral_register_backends(register: Callable[[Backend], None]) -> None:
    """Nothing registered yet (the backend lands with its issue)."""
