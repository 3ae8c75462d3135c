"""Wire types of Ollama's native API (``/api/*``): requests decode leniently like Go's binder
(unknown fields ignored); responses are typed Structs on one base that leaves out fields at their
default, as Go's ``omitempty`` does, while fields Ollama always sends have no default."""

from __future__ import annotations

import msgspec

__all__ = ["DetokenizeRequest", "DetokenizeResponse", "TokenizeRequest", "TokenizeResponse"]


class Request(msgspec.Struct, kw_only=True):
    """Request base: unknown fields are ignored (msgspec's default), as Go's json decoder does."""


class Reply(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Response base: fields at their default are left out (Go's ``omitempty``)."""


class TokenizeRequest(Request):
    """``POST /api/tokenize``. ``add_special`` adds BOS/EOS as the model's metadata says;
    ``parse_special`` turns control-token text (``<start_of_turn>``...) into those tokens."""

    model: str = ""
    content: str = ""
    add_special: bool = False
    parse_special: bool = True


class TokenizeResponse(Reply):
    model: str
    tokens: list[int]


class DetokenizeRequest(Request):
    """``POST /api/detokenize``."""

    model: str = ""
    tokens: list[int] = msgspec.field(default_factory=list)


class DetokenizeResponse(Reply):
    model: str
    content: str
