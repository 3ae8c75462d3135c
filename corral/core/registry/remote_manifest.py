"""Checking a manifest that came from a registry before anything touches the disk.

SECURITY.md rows 1, 2, 14 and 19: every digest must pass the one digest validator, every size
must be a sane non-negative integer, media types must look like media types, and the document
must be a single-image manifest with a config and at least one layer. Anything else is refused
with an error line; the server keeps running.
"""

from __future__ import annotations

import re

import msgspec

from corral.core.digest import parse_digest
from corral.core.errors import InvalidDigest
from corral.core.registry.bodies import RegistryError
from corral.core.registry.client import MANIFEST_MEDIA_TYPES
from corral.core.store.manifest import Layer, Manifest

__all__ = ["MAX_BLOB_SIZE", "MAX_LAYERS", "check_manifest"]

MAX_LAYERS = 1024
MAX_BLOB_SIZE = 1 << 42
"""4 TiB: larger than any model, far below what would overflow a file offset."""

# RFC 6838 type/subtype (restricted-name characters), with a length cap.
_MEDIA = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")


class _Descriptor(msgspec.Struct, rename="camel"):
    media_type: str
    digest: str
    size: int


class _Document(msgspec.Struct, rename="camel"):
    schema_version: int
    config: _Descriptor
    layers: list[_Descriptor]
    media_type: str = ""


def _invalid(reason: str) -> RegistryError:
    return RegistryError(f"pull model manifest: invalid manifest: {reason}")


def _layer(d: _Descriptor) -> Layer:
    if not _MEDIA.fullmatch(d.media_type):
        raise _invalid("invalid media type")
    try:
        digest = parse_digest(d.digest)
    except InvalidDigest:
        raise _invalid("invalid digest format") from None
    if not 0 <= d.size <= MAX_BLOB_SIZE:
        raise _invalid("invalid layer size")
    return Layer(media_type=d.media_type, digest=digest, size=d.size)


def check_manifest(data: bytes, content_type: str = "") -> Manifest:
    """Validate registry manifest bytes; returns the parsed manifest or raises RegistryError.

    ``content_type`` is the response's Content-Type (without parameters); a manifest list or
    image index, or a document whose ``mediaType`` disagrees with it, is refused.
    """
    try:
        doc = msgspec.json.decode(data, type=_Document)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _invalid(str(exc)) from None
    if doc.schema_version != 2:
        raise _invalid(f"unsupported schema version {doc.schema_version}")
    media = doc.media_type or content_type or MANIFEST_MEDIA_TYPES[0]
    if media not in MANIFEST_MEDIA_TYPES:
        raise _invalid(f"unsupported media type {media!r}")
    if content_type and content_type in MANIFEST_MEDIA_TYPES and content_type != media:
        raise _invalid("media type does not match the response's content type")
    if not doc.layers:
        raise _invalid("no layers")
    if len(doc.layers) > MAX_LAYERS:
        raise _invalid("too many layers")
    config = _layer(doc.config)
    layers = [_layer(d) for d in doc.layers]
    return Manifest(media_type=media, config=config, layers=layers)
