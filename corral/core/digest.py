"""Content digests: the one validator every outside digest passes before it names a file."""

from __future__ import annotations

import hashlib
import re

from corral.core.errors import InvalidDigest

__all__ = [
    "DIGEST_PATTERN",
    "blob_filename",
    "digest_hex",
    "is_blob_filename",
    "parse_digest",
    "sha256_digest",
]

#: Ollama's rule (``manifest.BlobsPath``): ``sha256`` then ``:`` or ``-`` then 64 hex digits.
DIGEST_PATTERN = re.compile(r"sha256[:-][0-9a-fA-F]{64}")


def parse_digest(s: object) -> str:
    """Validate a digest and return it normalized as ``sha256:<lowercase hex>``.

    Accepts ``sha256:<hex>`` and ``sha256-<hex>`` with 64 hex digits of either case; anything
    else (including non-strings, traversal attempts and wrong lengths) raises
    :class:`~corral.core.errors.InvalidDigest` (``invalid digest format``).
    """
    if not isinstance(s, str) or DIGEST_PATTERN.fullmatch(s) is None:
        raise InvalidDigest()
    return "sha256:" + s[7:].lower()


def digest_hex(digest: str) -> str:
    """The 64 lowercase hex digits of a valid digest (raises InvalidDigest otherwise)."""
    return parse_digest(digest)[7:]


def blob_filename(digest: str) -> str:
    """The file name a blob is stored under: ``sha256-<lowercase hex>`` (validated)."""
    return "sha256-" + digest_hex(digest)


def is_blob_filename(name: str) -> bool:
    """True when ``name`` is a blob file name (``sha256-``/legacy ``sha256:`` plus 64 hex)."""
    return DIGEST_PATTERN.fullmatch(name) is not None


def sha256_digest(data: bytes) -> str:
    """The ``sha256:<hex>`` digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
