"""The llama.cpp backend's plugin module: registers :class:`LlamaCppBackend` (llama_cpp loads lazily)."""

from __future__ import annotations

from collections.abc import Callable

from corral.backends.llamacpp.backend import LlamaCppBackend
from corral.core.engine import Backend
from corral.plugins import hookimpl

__all__ = ["corral_register_backends"]


@hookimpl
def corral_register_backends(register: Callable[[Backend], None]) -> None:
    """Contribute the ``llamacpp`` backend. It registers even without llama-cpp-python installed;
    its probe then declines every model and says why in the log."""
    register(LlamaCppBackend())
