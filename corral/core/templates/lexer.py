"""Tokenizer for Go text/template source: text, ``{{ }}`` actions, trim markers and comments."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from corral.core.templates._strconv import go_quote
from corral.core.templates.errors import TemplateParseError, position_of

__all__ = ["KEYWORDS", "Kind", "Token", "tokenize"]

LEFT_DELIM = "{{"
RIGHT_DELIM = "}}"
_SPACE = " \t\r\n"


class Kind(enum.Enum):
    """Token kinds, mirroring Go's ``text/template/parse`` item types."""

    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    SPACE = "space"
    IDENT = "identifier"
    FIELD = "field"
    VAR = "variable"
    STRING = "string"
    RAW_STRING = "raw string"
    CHAR_CONST = "character constant"
    NUMBER = "number"
    BOOL = "bool"
    NIL = "nil"
    DOT = "."
    LPAREN = "("
    RPAREN = ")"
    PIPE = "|"
    DECLARE = ":="
    ASSIGN = "="
    CHAR = "char"
    KEYWORD = "keyword"
    EOF = "EOF"


KEYWORDS = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical item: its kind, its source text and its offset in the template."""

    kind: Kind
    value: str
    pos: int

    def describe(self) -> str:
        """Describe the token the way Go's parse errors do."""
        if self.kind is Kind.EOF:
            return "EOF"
        if self.kind in (Kind.KEYWORD, Kind.NIL, Kind.DOT):
            return f"<{self.value}>"
        if len(self.value) > 10:
            return go_quote(self.value[:10]) + "..."
        return go_quote(self.value)


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdigit()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.paren_depth = 0

    def fail(self, message: str, pos: int | None = None) -> TemplateParseError:
        line, col = position_of(self.text, self.pos if pos is None else pos)
        return TemplateParseError(message, line, col)

    def emit(self, kind: Kind, start: int, end: int | None = None) -> None:
        stop = self.pos if end is None else end
        self.tokens.append(Token(kind, self.text[start:stop], start))

    # -- text and delimiters -------------------------------------------------------------

    def run(self) -> list[Token]:
        text = self.text
        while True:
            x = text.find(LEFT_DELIM, self.pos)
            if x < 0:
                if self.pos < len(text):
                    self.emit(Kind.TEXT, self.pos, len(text))
                self.tokens.append(Token(Kind.EOF, "", len(text)))
                return self.tokens
            trim = self._has_left_trim(x + len(LEFT_DELIM))
            end = x
            if trim:
                while end > self.pos and text[end - 1] in _SPACE:
                    end -= 1
            if end > self.pos:
                self.emit(Kind.TEXT, self.pos, end)
            self.pos = x + len(LEFT_DELIM)
            after = 2 if trim else 0
            if text.startswith("/*", self.pos + after):
                self._comment(x, self.pos + after)
                continue
            self.emit(Kind.LEFT, x, self.pos)
            self.pos += after
            self.paren_depth = 0
            self._inside_action()

    def _has_left_trim(self, at: int) -> bool:
        return self.text.startswith("-", at) and at + 1 < len(self.text) and self.text[at + 1] in _SPACE

    def _at_right_delim(self) -> tuple[bool, bool]:
        text, pos = self.text, self.pos
        if text.startswith("-" + RIGHT_DELIM, pos + 1) and text[pos] in _SPACE:
            return True, True
        return text.startswith(RIGHT_DELIM, pos), False

    def _right_delim(self) -> None:
        _, trim = self._at_right_delim()
        if trim:
            self.pos += 2
        start = self.pos
        self.pos += len(RIGHT_DELIM)
        self.emit(Kind.RIGHT, start)
        if trim:
            while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
                self.pos += 1

    def _comment(self, left: int, start: int) -> None:
        end = self.text.find("*/", start + 2)
        if end < 0:
            raise self.fail("unclosed comment", left)
        self.pos = end + 2
        delim, _ = self._at_right_delim()
        if not delim:
            raise self.fail("comment ends before closing delimiter")
        self._right_delim()
        self.tokens.pop()  # comments produce no node

    # -- inside an action ----------------------------------------------------------------

    def _inside_action(self) -> None:
        text = self.text
        while True:
            delim, _ = self._at_right_delim()
            if delim:
                if self.paren_depth == 0:
                    self._right_delim()
                    return
                raise self.fail("unclosed left paren")
            if self.pos >= len(text):
                raise self.fail("unclosed action")
            start = self.pos
            c = text[start]
            self.pos += 1
            if c in _SPACE:
                self.pos = start
                if self._space():
                    self._right_delim()
                    return
            elif c == "=":
                self.emit(Kind.ASSIGN, start)
            elif c == ":":
                if not text.startswith("=", self.pos):
                    raise self.fail("expected :=")
                self.pos += 1
                self.emit(Kind.DECLARE, start)
            elif c == "|":
                self.emit(Kind.PIPE, start)
            elif c == '"':
                self._quote(start)
            elif c == "`":
                end = text.find("`", self.pos)
                if end < 0:
                    raise self.fail("unterminated raw quoted string", start)
                self.pos = end + 1
                self.emit(Kind.RAW_STRING, start)
            elif c == "$":
                self._field_or_variable(start, Kind.VAR)
            elif c == "'":
                self._char(start)
            elif c == "." and not (self.pos < len(text) and "0" <= text[self.pos] <= "9"):
                self._field_or_variable(start, Kind.FIELD)
            elif c in "+-." or "0" <= c <= "9":
                self.pos = start
                self._number()
            elif _is_alnum(c):
                self.pos = start
                self._identifier()
            elif c == "(":
                self.emit(Kind.LPAREN, start)
                self.paren_depth += 1
            elif c == ")":
                self.emit(Kind.RPAREN, start)
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    raise self.fail("unexpected right paren", start)
            elif c.isascii() and c.isprintable():
                self.emit(Kind.CHAR, start)
            else:
                raise self.fail(f"unrecognized character in action: {_go_rune(c)}", start)

    def _space(self) -> bool:
        """Lex a run of spaces; return True when it ends on a trim-marked right delimiter."""
        text, start = self.text, self.pos
        while self.pos < len(text) and text[self.pos] in _SPACE:
            self.pos += 1
        if text.startswith("-" + RIGHT_DELIM, self.pos):
            self.pos -= 1
            if self.pos == start:
                return True
        self.emit(Kind.SPACE, start)
        return False

    def _at_terminator(self) -> bool:
        if self.pos >= len(self.text):
            return True
        c = self.text[self.pos]
        return c in _SPACE or c in ".,|:()" or self.text.startswith(RIGHT_DELIM, self.pos)

    def _field_or_variable(self, start: int, kind: Kind) -> None:
        if self._at_terminator():
            self.emit(Kind.VAR if kind is Kind.VAR else Kind.DOT, start)
            return
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self._at_terminator():
            raise self.fail(f"bad character {_go_rune(self.text[self.pos])}")
        self.emit(kind, start)

    def _identifier(self) -> None:
        start = self.pos
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self._at_terminator():
            raise self.fail(f"bad character {_go_rune(self.text[self.pos])}")
        word = self.text[start : self.pos]
        if word in KEYWORDS:
            self.emit(Kind.KEYWORD, start)
        elif word in ("true", "false"):
            self.emit(Kind.BOOL, start)
        elif word == "nil":
            self.emit(Kind.NIL, start)
        else:
            self.emit(Kind.IDENT, start)

    def _quote(self, start: int) -> None:
        text = self.text
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self.fail("unterminated quoted string", start)
            c = text[self.pos]
            self.pos += 1
            if c == "\\":
                if self.pos >= len(text) or text[self.pos] == "\n":
                    raise self.fail("unterminated quoted string", start)
                self.pos += 1
            elif c == '"':
                self.emit(Kind.STRING, start)
                return

    def _char(self, start: int) -> None:
        text = self.text
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self.fail("unterminated character constant", start)
            c = text[self.pos]
            self.pos += 1
            if c == "\\":
                if self.pos >= len(text) or text[self.pos] == "\n":
                    raise self.fail("unterminated character constant", start)
                self.pos += 1
            elif c == "'":
                self.emit(Kind.CHAR_CONST, start)
                return

    def _accept(self, chars: str) -> bool:
        if self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1
            return True
        return False

    def _accept_run(self, chars: str) -> None:
        while self._accept(chars):
            pass

    def _number(self) -> None:
        start = self.pos
        self._accept("+-")
        digits = "0123456789_"
        if self._accept("0"):
            if self._accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self._accept("oO"):
                digits = "01234567_"
            elif self._accept("bB"):
                digits = "01_"
        self._accept_run(digits)
        if self._accept("."):
            self._accept_run(digits)
        if len(digits) == 11 and self._accept("eE"):
            self._accept("+-")
            self._accept_run("0123456789_")
        if len(digits) == 23 and self._accept("pP"):
            self._accept("+-")
            self._accept_run("0123456789_")
        self._accept("i")
        if self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
            raise self.fail(f"bad number syntax: {go_quote(self.text[start : self.pos])}", start)
        self.emit(Kind.NUMBER, start)


def _go_rune(c: str) -> str:
    """Format a character like Go's ``%#U`` verb."""
    code = ord(c)
    return f"U+{code:04X} '{c}'" if c.isprintable() else f"U+{code:04X}"


def tokenize(text: str) -> list[Token]:
    """Split template source into tokens; raises TemplateParseError on malformed actions."""
    return _Lexer(text).run()
