"""Digest validation (SECURITY.md rows 1, 2, 19: the one validator every digest goes through)."""

from __future__ import annotations

import pytest

from corral.core.digest import blob_filename, digest_hex, is_blob_filename, parse_digest, sha256_digest
from corral.core.errors import InvalidDigest

HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("s", "normal"),
    [
        ("sha256:" + HEX, "sha256:" + HEX),
        ("sha256-" + HEX, "sha256:" + HEX),
        ("sha256:" + HEX.upper(), "sha256:" + HEX),
    ],
)
def test_valid(s: str, normal: str) -> None:
    assert parse_digest(s) == normal
    assert blob_filename(s) == "sha256-" + HEX
    assert digest_hex(s) == HEX


@pytest.mark.parametrize(
    "s",
    [
        "",
        "sha256-45640291",
        "sha256:" + HEX + "0123456789",
        "sha256:" + HEX[:-1],
        "../sha256-" + HEX,
        "sha256-" + HEX + "/../../etc/passwd",
        "../../../../../../etc/ld.so.preload",
        "sha256:" + HEX[:-1] + "g",
        "sha512:" + HEX,
        "SHA256:" + HEX,
        "sha256_" + HEX,
        "sha256:" + HEX + "\n",
        " sha256:" + HEX,
    ],
)
def test_invalid(s: str) -> None:
    with pytest.raises(InvalidDigest) as exc:
        parse_digest(s)
    assert str(exc.value) == "invalid digest format"
    assert exc.value.status == 400
    with pytest.raises(InvalidDigest):
        blob_filename(s)


@pytest.mark.parametrize("value", [None, 1, b"sha256:" + HEX.encode()])
def test_non_string(value: object) -> None:
    with pytest.raises(InvalidDigest):
        parse_digest(value)


def test_sha256_digest_and_filenames() -> None:
    assert sha256_digest(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert is_blob_filename("sha256-" + HEX)
    assert is_blob_filename("sha256:" + HEX)  # legacy name, renamed at start-up
    assert not is_blob_filename("sha256-" + HEX + "-partial")
    assert not is_blob_filename("sha256-" + HEX + "-partial-0")
