"""The llama.cpp backend (llama-cpp-python): GGUF models on the CPU, and CUDA/Metal when the build has them.

Importing this package never imports ``llama_cpp``; that happens on the first probe or load, so
corral runs (with this backend declining every model) when the ``llamacpp`` extra is missing.
"""

from __future__ import annotations

from corral.backends.llamacpp.backend import LlamaCppBackend, known_architectures
from corral.backends.llamacpp.embed_runner import LlamaCppEmbedRunner
from corral.backends.llamacpp.runner import LlamaCppRunner

__all__ = ["LlamaCppBackend", "LlamaCppEmbedRunner", "LlamaCppRunner", "known_architectures"]
