"""The plugin module named by the ``corral`` entry point: registers the ``ctransformers`` backend."""

from __future__ import annotations

from collections.abc import Callable

from corral.plugins import Backend, hookimpl
from corral_ctransformers.backend import CTransformersBackend

__all__ = ["corral_register_backends"]


@hookimpl
def corral_register_backends(register: Callable[[Backend], None]) -> None:
    """Contribute the ``ctransformers`` backend (legacy GGML llama files, llama-family GGUF)."""
    register(CTransformersBackend())
