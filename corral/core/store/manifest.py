"""Manifest, layer and config-blob documents: msgspec types and their Go-compatible JSON bytes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from corral.core.digest import parse_digest
from corral.core.errors import CorralError, InvalidDigest
from corral.core.store.media import MEDIA_MANIFEST

__all__ = [
    "InvalidManifest",
    "Layer",
    "Manifest",
    "ModelConfig",
    "decode_config",
    "decode_manifest",
    "encode_config",
    "encode_manifest",
]

_Size = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class InvalidManifest(CorralError):
    """A manifest (on disk or from a registry) is not valid JSON of the expected shape (500)."""


class Layer(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """One blob a manifest refers to. ``from`` and ``name`` are left out of the JSON when empty."""

    media_type: str
    digest: str
    size: _Size
    from_: str = msgspec.field(default="", name="from")
    name: str = ""


class Manifest(msgspec.Struct, kw_only=True, rename="camel"):
    """A Docker Distribution schema 2 manifest as Ollama writes it."""

    schema_version: int = 2
    media_type: str = MEDIA_MANIFEST
    config: Layer
    layers: list[Layer] = msgspec.field(default_factory=list)

    def all_layers(self) -> list[Layer]:
        """The config layer (when it names a blob) followed by the layers."""
        return ([self.config] if self.config.digest else []) + list(self.layers)

    def digests(self) -> set[str]:
        """Every blob digest the manifest refers to, normalized (``sha256:<hex>``)."""
        return {parse_digest(layer.digest) for layer in self.all_layers()}

    def total_size(self) -> int:
        """Config size plus every layer's size (what ``/api/tags`` reports as ``size``)."""
        return self.config.size + sum(layer.size for layer in self.layers)


class ModelConfig(msgspec.Struct, kw_only=True):
    """The config blob (Ollama ``ConfigV2``). UNSET fields are left out of the JSON."""

    model_format: str = "gguf"
    model_family: str = ""
    model_families: list[str] | None = None
    model_type: str = ""
    file_type: str = ""
    renderer: str | msgspec.UnsetType = msgspec.UNSET
    parser: str | msgspec.UnsetType = msgspec.UNSET
    requires: str | msgspec.UnsetType = msgspec.UNSET
    remote_host: str | msgspec.UnsetType = msgspec.UNSET
    remote_model: str | msgspec.UnsetType = msgspec.UNSET
    capabilities: list[str] | msgspec.UnsetType = msgspec.UNSET
    context_length: int | msgspec.UnsetType = msgspec.UNSET
    embedding_length: int | msgspec.UnsetType = msgspec.UNSET
    base_name: str | msgspec.UnsetType = msgspec.UNSET
    architecture: str = "amd64"
    os: str = "linux"


_manifest_decoder = msgspec.json.Decoder(Manifest)
_config_decoder = msgspec.json.Decoder(ModelConfig)
_encoder = msgspec.json.Encoder()


def encode_manifest(manifest: Manifest) -> bytes:
    """Compact JSON with a trailing newline, like Go's ``json.Encoder``."""
    return _encoder.encode(manifest) + b"\n"


def decode_manifest(data: bytes) -> Manifest:
    """Parse and check a manifest: JSON shape, non-negative sizes and every digest's format.

    Raises InvalidManifest; a digest that could name a path outside the store never gets past here.
    """
    try:
        manifest = _manifest_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidManifest(f"invalid manifest: {exc}") from None
    try:
        for layer in manifest.layers:
            parse_digest(layer.digest)
        # A config without a blob (digest "") is tolerated, as Ollama does.
        if manifest.config.digest:
            parse_digest(manifest.config.digest)
    except InvalidDigest:
        raise InvalidManifest("invalid manifest: invalid digest format") from None
    return manifest


def encode_config(config: ModelConfig) -> bytes:
    """Compact JSON with a trailing newline."""
    return _encoder.encode(config) + b"\n"


def decode_config(data: bytes | dict[str, Any]) -> ModelConfig:
    """A typed view of a config blob (unknown fields such as ``rootfs`` are ignored).

    Raises InvalidManifest when the blob is not a JSON object of the expected field types.
    """
    try:
        if isinstance(data, dict):
            return msgspec.convert(data, ModelConfig)
        return _config_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidManifest(f"invalid model config: {exc}") from None
