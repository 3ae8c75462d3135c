"""Request-body decoding with Ollama's (Go ``encoding/json``) error behaviour and wording."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from corral.core.errors import BadRequest

__all__ = ["decode_body"]

T = TypeVar("T")

_VALIDATION = re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`(?: - at `\$(?P<path>[^`]*)`)?")
_MALFORMED_AT = re.compile(r"\(byte (\d+)\)")

# msgspec type names → Go's JSON kind names ("cannot unmarshal <kind> into ...").
_GO_KIND = {
    "int": "number",
    "float": "number",
    "str": "string",
    "bool": "bool",
    "array": "array",
    "object": "object",
    "null": "null",
}
_GO_TYPE = {
    "str": "string",
    "int": "int",
    "float": "float64",
    "bool": "bool",
    "array": "[]interface {}",
    "object": "map[string]interface {}",
}


def _go_type(want: str) -> str:
    first = want.split(" | ")[0]
    return _GO_TYPE.get(first, first)


def _go_field(path: str) -> str:
    # "$.messages[0].role" → "messages.role" (Go names the field chain without indexes)
    return re.sub(r"\[\d+\]", "", path).lstrip(".")


def decode_body(body: bytes, type_: type[T], go_name: str) -> T:
    """Decode a JSON request body into ``type_`` the way Ollama's handlers bind JSON.

    * an empty body → 400 ``missing request body``;
    * ``null`` → the type's defaults (an empty request, not a missing body);
    * syntax errors and type mismatches → 400 with Go ``encoding/json``-style messages naming
      ``go_name`` (e.g. ``GenerateRequest``); unknown fields are ignored.
    """
    if not body.strip():
        raise BadRequest("missing request body")
    if body.strip() == b"null":
        body = b"{}"
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        raise BadRequest(_validation_message(str(exc), go_name)) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(_syntax_message(str(exc), body)) from None


def _validation_message(text: str, go_name: str) -> str:
    m = _VALIDATION.match(text)
    if m is None:
        return text
    kind = _GO_KIND.get(m.group("got"), m.group("got"))
    path = m.group("path")
    if not path:
        return f"json: cannot unmarshal {kind} into Go value of type api.{go_name}"
    return (
        f"json: cannot unmarshal {kind} into Go struct field {go_name}.{_go_field(path)} "
        f"of type {_go_type(m.group('want'))}"
    )


def _syntax_message(text: str, body: bytes) -> str:
    if "truncated" in text:
        return "unexpected EOF"
    m = _MALFORMED_AT.search(text)
    if m is not None:
        pos = int(m.group(1))
        ch = body[pos : pos + 1].decode("latin-1") if pos < len(body) else ""
        if ch:
            where = "beginning of value" if pos == 0 or body[:pos].strip() in (b"",) else "value"
            return f"invalid character {ch!r} looking for {where}"
    return text
