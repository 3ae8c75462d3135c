"""llama.cpp's Unicode helpers: codepoint flags, GPT-2's byte-to-unicode map and regex splitting.

llama.cpp does not run a Unicode-aware regex engine: it either runs a hand-written splitter (the
GPT-2 and Llama 3 patterns) or "collapses" every codepoint above 127 to one byte standing for
its category (letter, number, punctuation...) and runs ``std::regex`` on that. Both are copied
here so that pre-tokenization splits exactly where llama.cpp's does. Categories come from
Python's :mod:`unicodedata` (llama.cpp ships its own table, possibly of a newer Unicode version:
codepoints assigned since may be classified differently).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence

__all__ = [
    "BYTE_TO_UNICODE",
    "UNICODE_TO_BYTE",
    "Flags",
    "check_patterns",
    "cpt_flags",
    "regex_split",
]


class Flags:
    """``unicode_cpt_flags`` bits (unicode.h)."""

    UNDEFINED = 0x0001
    NUMBER = 0x0002
    LETTER = 0x0004
    SEPARATOR = 0x0008
    ACCENT_MARK = 0x0010
    PUNCTUATION = 0x0020
    SYMBOL = 0x0040
    CONTROL = 0x0080
    CATEGORY_MASK = 0x00FF
    WHITESPACE = 0x0100


_CATEGORY_FLAGS = {
    "C": Flags.CONTROL, "L": Flags.LETTER, "M": Flags.ACCENT_MARK, "N": Flags.NUMBER,
    "P": Flags.PUNCTUATION, "S": Flags.SYMBOL, "Z": Flags.SEPARATOR,
}  # fmt: skip

_WHITESPACE = frozenset(
    [*range(0x09, 0x0E), *range(0x2000, 0x200B), 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F,
     0x3000]
)  # fmt: skip
"""Unicode's White_Space property, as llama.cpp lists it."""


@functools.lru_cache(maxsize=65536)
def cpt_flags(ch: str) -> int:
    """The flags of one character (``unicode_cpt_flags_from_cpt``)."""
    cat = unicodedata.category(ch)
    flags = Flags.UNDEFINED if cat == "Cn" else _CATEGORY_FLAGS[cat[0]]
    if ord(ch) in _WHITESPACE:
        flags |= Flags.WHITESPACE
    return flags


def _byte_to_unicode() -> dict[int, str]:
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + n)
            n += 1
    return table


BYTE_TO_UNICODE: dict[int, str] = _byte_to_unicode()
"""GPT-2's reversible byte -> printable character map (``unicode_byte_to_utf8``)."""
UNICODE_TO_BYTE: dict[str, int] = {c: b for b, c in BYTE_TO_UNICODE.items()}

_L, _N, _WS, _OUT = Flags.LETTER, Flags.NUMBER, Flags.WHITESPACE, 0


def _cutter(
    text: str, start: int, end: int, out: list[int]
) -> tuple[Callable[[int], int], Callable[[int], int]]:
    """What both custom splitters share (closures: the hot loops call them per character).

    ``flags(pos)``: the flags of ``text[pos]``, none outside ``[start, end)``. ``add(stop)``: cut
    the piece from the previous cut to ``stop`` into ``out`` (if not empty); returns its length.
    """

    def flags(pos: int) -> int:
        return cpt_flags(text[pos]) if start <= pos < end else _OUT

    prev = start

    def add(stop: int) -> int:
        nonlocal prev
        n = stop - prev
        if n > 0:
            out.append(n)
        prev = stop
        return n

    return flags, add


def _cut_whitespace(add: Callable[[int], int], end: int, pos: int, n_ws: int) -> int:
    """Both patterns' last alternatives at ``pos``, where ``n_ws`` whitespace characters stand:
    ``\\s+(?!\\S)`` (all but the last before a non-space), ``\\s+``, or else one character.
    Cuts there and returns the new position."""
    if n_ws > 1 and pos + n_ws < end:
        pos += n_ws - 1
    elif n_ws > 0:
        pos += n_ws
    else:
        pos += 1
    add(pos)
    return pos


def _split_gpt2(text: str, start: int, end: int, out: list[int]) -> None:
    """``unicode_regex_split_custom_gpt2``: the GPT-2 pattern, :data:`GPT2_PATTERN` plus ``|\\s+``."""
    flags, add = _cutter(text, start, end, out)
    pos = start
    while pos < end:
        cpt = text[pos]
        f = flags(pos)
        if cpt == "'" and pos + 1 < end:
            nxt = text[pos + 1]
            if nxt in "stmd":
                pos += add(pos + 2)
                continue
            if pos + 2 < end and nxt + text[pos + 2] in ("re", "ve", "ll"):
                pos += add(pos + 3)
                continue
        f2 = flags(pos + 1) if cpt == " " else f
        if f2 & _L:
            pos += cpt == " "
            while f2 & _L:
                pos += 1
                f2 = flags(pos)
            add(pos)
            continue
        if f2 & _N:
            pos += cpt == " "
            while f2 & _N:
                pos += 1
                f2 = flags(pos)
            add(pos)
            continue
        if not f2 & (_WS | _L | _N) and f2:
            pos += cpt == " "
            while not f2 & (_WS | _L | _N) and f2:
                pos += 1
                f2 = flags(pos)
            add(pos)
            continue
        n_ws = 0
        while flags(pos + n_ws) & _WS:
            n_ws += 1
        pos = _cut_whitespace(add, end, pos, n_ws)


def _split_llama3(text: str, start: int, end: int, out: list[int]) -> None:
    """``unicode_regex_split_custom_llama3``: the Llama 3 pattern, case-insensitive contractions."""
    flags, add = _cutter(text, start, end, out)
    pos = start
    while pos < end:
        cpt = text[pos]
        f = flags(pos)
        if cpt == "'" and pos + 1 < end:
            nxt = text[pos + 1].lower() if text[pos + 1].isascii() else text[pos + 1]
            if nxt in ("s", "t", "m", "d"):
                pos += add(pos + 2)
                continue
            if pos + 2 < end:
                nn = text[pos + 2].lower() if text[pos + 2].isascii() else text[pos + 2]
                if nxt + nn in ("re", "ve", "ll"):
                    pos += add(pos + 3)
                    continue
        if not (cpt in "\r\n" or f & _N) and (f & _L or flags(pos + 1) & _L):
            pos += 1
            while flags(pos) & _L:
                pos += 1
            add(pos)
            continue
        if f & _N:
            ini = pos
            while flags(pos) & _N:
                pos += 1
                if pos - ini >= 3:
                    add(pos)
                    ini = pos
            add(pos)
            continue
        f2 = flags(pos + 1) if cpt == " " else f
        if not f2 & (_WS | _L | _N) and f:
            pos += cpt == " "
            while not f2 & (_WS | _L | _N) and f2:
                pos += 1
                f2 = flags(pos)
            while pos < end and text[pos] in "\r\n":
                pos += 1
            add(pos)
            continue
        n_ws = 0
        last_rn = 0
        while flags(pos + n_ws) & _WS:
            if text[pos + n_ws] in "\r\n":
                last_rn = pos + n_ws + 1
            n_ws += 1
        if last_rn > 0:
            pos = last_rn
            add(pos)
            continue
        pos = _cut_whitespace(add, end, pos, n_ws)


GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
_LLAMA3_TAIL = (
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
LLAMA3_PATTERNS = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)" + _LLAMA3_TAIL,
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])" + _LLAMA3_TAIL,
)
"""The Llama 3 pattern as tokenizer.json has it and as llama.cpp adapted it (both run custom code)."""

# --- the "collapsed" std::regex path ---------------------------------------------------------

_UCAT_ENUM = {
    "\\p{N}": Flags.NUMBER, "\\p{L}": Flags.LETTER, "\\p{P}": Flags.PUNCTUATION,
    "\\p{M}": Flags.ACCENT_MARK, "\\p{S}": Flags.SYMBOL, "\\p{Lu}": Flags.LETTER,
    "\\p{Ll}": Flags.LETTER, "\\p{Lt}": Flags.LETTER, "\\p{Lm}": Flags.LETTER, "\\p{Lo}": Flags.LETTER,
}  # fmt: skip
_UCAT_CPT = {
    Flags.NUMBER: "\xd1", Flags.LETTER: "\xd2", Flags.PUNCTUATION: "\xd3",
    Flags.ACCENT_MARK: "\xd4", Flags.SYMBOL: "\xd5",
}  # fmt: skip
_UCAT_MAP = {
    Flags.NUMBER: "\x30-\x39",
    Flags.LETTER: "\x41-\x5a\x61-\x7a",
    Flags.PUNCTUATION: "\x21-\x23\x25-\x2a\x2c-\x2f\x3a-\x3b\x3f-\x40\\\x5b-\\\x5d\x5f\\\x7b\\\x7d",
    Flags.ACCENT_MARK: "",
    Flags.SYMBOL: "\\\x24\\\x2b\x3c-\x3e\x5e\x60\\\x7c",
}


@functools.lru_cache(maxsize=65536)
def _collapse_char(ch: str) -> str:
    if ord(ch) < 128:
        return ch
    flags = cpt_flags(ch)
    if flags & Flags.WHITESPACE:
        return "\x0b"
    return _UCAT_CPT.get(flags & Flags.CATEGORY_MASK, "\xd0")


def _collapse_regex(expr: str) -> str:
    """The regex with each ``\\p{..}`` replaced by its collapsed byte plus its ASCII members."""
    out: list[str] = []
    inside = False
    i = 0
    while i < len(expr):
        c = expr[i]
        if c == "[" and (i == 0 or expr[i - 1] != "\\"):
            out.append("[")
            inside = True
        elif inside and c == "]" and expr[i - 1] != "\\":
            out.append("]")
            inside = False
        elif expr.startswith("\\p{", i) and i + 3 < len(expr):
            close = expr.find("}", i + 3)
            pat = expr[i : close + 1] if close != -1 and close <= i + 10 else ""
            if pat in _UCAT_ENUM:
                cat = _UCAT_ENUM[pat]
                body = _UCAT_CPT[cat] + _UCAT_MAP[cat]
                out.append(body if inside else f"[{body}]")
                i = close
            else:
                out.append(c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=64)
def _compiled(expr: str) -> tuple[re.Pattern[str], bool]:
    collapsed = any(cat in expr for cat in _UCAT_ENUM)
    if collapsed:
        if any(ord(c) >= 128 for c in expr):
            raise ValueError("regex mixes unicode categories and non-ASCII characters")
        expr = _collapse_regex(expr)
    # std::regex's \s is the C locale's isspace: ASCII only, hence re.ASCII.
    return re.compile(expr, re.ASCII), collapsed


def check_patterns(exprs: Sequence[str]) -> None:
    """Compile the patterns :func:`regex_split` will run (``ValueError``/``re.error`` if unusable)."""
    for expr in exprs:
        if expr != GPT2_PATTERN and expr not in LLAMA3_PATTERNS:
            _compiled(expr)


def _split_stl(pattern: re.Pattern[str], text: str, offsets: Sequence[int]) -> list[int]:
    """``unicode_regex_split_stl``: matches and the gaps between them each become a piece."""
    out: list[int] = []
    start = 0
    for offset in offsets:
        segment = text[start : start + offset]
        pos = 0
        for m in pattern.finditer(segment):
            if m.start() > pos:
                out.append(m.start() - pos)
            out.append(m.end() - m.start())
            pos = m.end()
        if pos < offset:
            out.append(offset - pos)
        start += offset
    return out


def regex_split(text: str, exprs: Sequence[str]) -> list[str]:
    """``unicode_regex_split`` without the byte encoding: split ``text`` by each regex in turn."""
    offsets = [len(text)] if text else []
    collapsed_text: str | None = None
    plain_text: str | None = None
    for expr in exprs:
        if expr == GPT2_PATTERN or expr in LLAMA3_PATTERNS:
            splitter = _split_gpt2 if expr == GPT2_PATTERN else _split_llama3
            new: list[int] = []
            start = 0
            for offset in offsets:
                splitter(text, start, start + offset, new)
                start += offset
            offsets = new
            continue
        pattern, collapsed = _compiled(expr)
        if collapsed:
            if collapsed_text is None:
                collapsed_text = "".join(map(_collapse_char, text))
            offsets = _split_stl(pattern, collapsed_text, offsets)
        else:
            if plain_text is None:
                plain_text = "".join(
                    "\x0b" if ord(c) > 0x7F and cpt_flags(c) & Flags.WHITESPACE else c for c in text
                )
            offsets = _split_stl(pattern, plain_text, offsets)
    words: list[str] = []
    start = 0
    for offset in offsets:
        words.append(text[start : start + offset])
        start += offset
    return words
