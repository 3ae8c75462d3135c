"""Describe a model file the way the server does before it probes backends and loads one."""

from __future__ import annotations

from pathlib import Path

from corral.core.backend_choice import spec_from_file
from corral.core.engine import ModelSpec

__all__ = ["model_spec_for"]


def model_spec_for(path: Path, *, name: str | None = None) -> ModelSpec:
    """The :class:`~corral.core.engine.ModelSpec` the server would build for the GGUF or legacy
    GGML file at ``path`` (architecture, metadata, tensor types, ``format``), for a backend's
    ``probe`` and ``load`` in tests."""
    return spec_from_file(path, name=name or path.stem)
