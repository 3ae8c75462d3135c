"""Prometheus metrics, collected from request and model lifecycle events."""

from __future__ import annotations

from corral.core.events import Event
from corral.plugins import hookimpl


@hookimpl
def corral_on_event(event: Event) -> None:
    """Nothing collected yet (lands with the observability issue)."""
