"""Utf8Joiner: multibyte characters split across pieces, emoji, invalid and truncated bytes."""

from __future__ import annotations

import pytest
from assemble_support import split_bytes

from corral.core.assemble import Utf8Joiner


def join(pieces: list[bytes]) -> str:
    joiner = Utf8Joiner()
    return "".join(joiner.push(p) for p in pieces) + joiner.flush()


TEXT = "héllo wörld € 𝄞 🙂 👩‍👩‍👧 🇯🇵 東京 Ж"


def test_ascii_passes_straight_through() -> None:
    joiner = Utf8Joiner()
    assert joiner.push(b"abc") == "abc"
    assert joiner.flush() == ""


def test_character_split_across_pieces_comes_out_whole() -> None:
    joiner = Utf8Joiner()
    euro = "€".encode()
    assert joiner.push(b"x" + euro[:1]) == "x"
    assert joiner.push(euro[1:2]) == ""
    assert joiner.push(euro[2:] + b"y") == "€y"


def test_emoji_byte_by_byte() -> None:
    data = "🙂".encode()
    joiner = Utf8Joiner()
    assert [joiner.push(data[i : i + 1]) for i in range(4)] == ["", "", "", "🙂"]


@pytest.mark.parametrize("seed", range(30))
def test_random_splits_equal_whole_decode(seed: int) -> None:
    data = TEXT.encode()
    assert join(split_bytes(data, seed)) == TEXT


def test_every_single_byte_split() -> None:
    data = TEXT.encode()
    assert join([data[i : i + 1] for i in range(len(data))]) == TEXT


def test_invalid_byte_becomes_replacement_at_once() -> None:
    joiner = Utf8Joiner()
    assert joiner.push(b"a\xffb") == "a\ufffdb"
    assert joiner.push(b"\xc0\xafz") == "\ufffd\ufffdz"  # overlong encoding of "/"


def test_truncated_character_at_end_is_replaced_on_flush() -> None:
    joiner = Utf8Joiner()
    assert joiner.push(b"ok\xe2\x82") == "ok"
    assert joiner.flush() == "\ufffd"


def test_broken_sequence_followed_by_ascii() -> None:
    assert join([b"\xe2\x82", b"A"]) == "\ufffdA"


@pytest.mark.parametrize("seed", range(10))
def test_random_splits_of_invalid_data_match_replace_decoding(seed: int) -> None:
    data = b"\xf0\x9f\x99" + "ok é".encode() + b"\xed\xa0\x80" + "🙂".encode() + b"\x80\xe6"
    assert join(split_bytes(data, seed, 3)) == data.decode("utf-8", "replace")
