"""Wire types of llama-server's ``/tokenize`` and ``/detokenize``."""

from __future__ import annotations

import msgspec

__all__ = ["DetokenizeRequest", "DetokenizeResponse", "Piece", "TokenizeRequest", "TokenizeResponse"]


class TokenizeRequest(msgspec.Struct, kw_only=True):
    """``POST /tokenize``."""

    model: str = ""
    content: str = ""
    add_special: bool = False
    parse_special: bool = True
    with_pieces: bool = False


class Piece(msgspec.Struct, kw_only=True):
    """A token with its text (or its bytes when they are not valid UTF-8 on their own)."""

    id: int
    piece: str | list[int]


class TokenizeResponse(msgspec.Struct, kw_only=True):
    """``{"tokens": [...]}``: ids, or pieces with ``with_pieces``."""

    tokens: list[int] | list[Piece]


class DetokenizeRequest(msgspec.Struct, kw_only=True):
    """``POST /detokenize``."""

    model: str = ""
    tokens: list[int] = msgspec.field(default_factory=list)


class DetokenizeResponse(msgspec.Struct, kw_only=True):
    """``{"content": "..."}``."""

    content: str
