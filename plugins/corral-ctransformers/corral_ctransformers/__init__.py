"""corral-ctransformers: a corral backend plugin for legacy GGML models, through ctransformers.

Installed next to corral (``pip install ./plugins/corral-ctransformers``), it registers the
backend ``ctransformers`` through the ``corral`` entry-point group; ``corral backends`` lists it.
"""

from __future__ import annotations

from corral_ctransformers.backend import CTransformersBackend
from corral_ctransformers.runner import CTransformersRunner

__all__ = ["CTransformersBackend", "CTransformersRunner"]
