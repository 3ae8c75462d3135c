"""Bounded reads of registry response bodies (no decompression bombs) and the registry error type."""

from __future__ import annotations

import zlib

import httpx

from corral.core.errors import CorralError

__all__ = ["RegistryError", "read_capped"]


class RegistryError(CorralError):
    """A registry request failed or the registry answered something unacceptable (500 by default)."""


_CHUNK = 64 * 1024


def read_capped(response: httpx.Response, limit: int, what: str) -> bytes:
    """The body of a streamed response, decoded, refusing more than ``limit`` bytes.

    The raw bytes are read without httpx's transparent decoding; ``gzip``/``deflate`` bodies are
    inflated here with a cap on the *decoded* size, so a small compressed bomb cannot exhaust
    memory (SECURITY.md row 15). Any other content encoding is refused.
    """
    raw = bytearray()
    for chunk in response.iter_raw(_CHUNK):
        raw += chunk
        if len(raw) > limit:
            raise RegistryError(f"{what} is larger than {limit} bytes")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return bytes(raw)
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise RegistryError(f"{what}: unsupported content encoding {encoding!r}")
    wbits = 31 if "gzip" in encoding else 15
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(bytes(raw), limit + 1)
    except zlib.error:
        raise RegistryError(f"{what}: invalid {encoding} body") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise RegistryError(f"{what} is larger than {limit} bytes")
    return out
