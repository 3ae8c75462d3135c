"""The model store (Ollama's on-disk layout): ``Store`` plus the documents it reads and writes."""

from __future__ import annotations

from corral.core.store.blobs import BlobWriter
from corral.core.store.manifest import (
    InvalidManifest,
    Layer,
    Manifest,
    ModelConfig,
    decode_config,
    decode_manifest,
    encode_config,
    encode_manifest,
)
from corral.core.store.media import (
    MEDIA_ADAPTER,
    MEDIA_CONFIG,
    MEDIA_EMBED,
    MEDIA_LICENSE,
    MEDIA_MANIFEST,
    MEDIA_MESSAGES,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_PROJECTOR,
    MEDIA_PROMPT,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
)
from corral.core.store.models import TEXT_LAYER_LIMIT, LocalModel, ModelListing
from corral.core.store.store import Store

__all__ = [
    "MEDIA_ADAPTER",
    "MEDIA_CONFIG",
    "MEDIA_EMBED",
    "MEDIA_LICENSE",
    "MEDIA_MANIFEST",
    "MEDIA_MESSAGES",
    "MEDIA_MODEL",
    "MEDIA_PARAMS",
    "MEDIA_PROJECTOR",
    "MEDIA_PROMPT",
    "MEDIA_SYSTEM",
    "MEDIA_TEMPLATE",
    "TEXT_LAYER_LIMIT",
    "BlobWriter",
    "InvalidManifest",
    "Layer",
    "LocalModel",
    "Manifest",
    "ModelConfig",
    "ModelListing",
    "Store",
    "decode_config",
    "decode_manifest",
    "encode_config",
    "encode_manifest",
]
