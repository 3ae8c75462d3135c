"""Registers the onnx backend through the same hook a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from corral.backends.onnx.backend import OnnxBackend
from corral.core.engine import Backend
from corral.plugins import hookimpl

__all__ = ["corral_register_backends"]


@hookimpl
def corral_register_backends(register: Callable[[Backend], None]) -> None:
    """Contribute the ``onnx`` backend. It registers even without onnxruntime installed; its
    probe then declines every model and says why in the log."""
    register(OnnxBackend())
