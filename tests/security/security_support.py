"""Helpers for the security tests: a snapshot of the store, and a server with one tiny model."""

from __future__ import annotations

import os
from pathlib import Path

from tests.api.test_management import create_tiny
from tests.conftest import LiveServer

__all__ = ["create_tiny", "loaded_models", "store_snapshot"]


def store_snapshot(models: Path) -> dict[str, int]:
    """Every file under the store (relative path → size), to prove a refused request changed nothing."""
    found: dict[str, int] = {}
    for root, _dirs, files in os.walk(models):
        for name in files:
            path = Path(root, name)
            found[str(path.relative_to(models))] = path.lstat().st_size
    return found


def loaded_models(live: LiveServer) -> list[str]:
    """Names in /api/ps (a generation that ran would have loaded its model)."""
    return [m["name"] for m in live.client.get("/api/ps").json()["models"]]
