"""What the GGUF → ONNX converter covers, importable without onnx or onnxruntime (probes use it)."""

from __future__ import annotations

__all__ = ["ARCHITECTURES", "MAX_ROPE_POSITIONS"]

ARCHITECTURES = frozenset({"llama", "gemma3"})
MAX_ROPE_POSITIONS = 32768
"""Rows of the rotary caches (and so the longest context the graph serves)."""
