"""The onnx backend: GGUF models (``llama`` family, ``gemma3``) converted to ONNX graphs with ONNX
Runtime's contrib ops, cached per GGUF digest beside the store, and run by ONNX Runtime on CUDA
(onnxruntime-gpu) or the CPU. onnxruntime itself is imported on the first load."""

from __future__ import annotations

from corral.backends.onnx.backend import OnnxBackend

__all__ = ["OnnxBackend"]
