"""Modelfiles: parse Ollama's Modelfile grammar, serialize ``show --modelfile`` text, resolve FROM paths.

The parser follows Ollama's ``parser.ParseFile`` rune by rune so that odd inputs behave the same and
errors read the same (``(line 3): command must be one of ...``, ``unexpected EOF``, ``no FROM line``).
One deliberate difference: a CRLF line break counts as one line in error messages, not two.
"""

from __future__ import annotations

import enum
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from corral.core.errors import ModelfileError
from corral.core.options import format_params

__all__ = [
    "INSTRUCTIONS",
    "Command",
    "Modelfile",
    "is_local_path",
    "parse_modelfile",
    "quote_arg",
    "resolve_path",
    "serialize_modelfile",
]

INSTRUCTIONS: tuple[str, ...] = (
    "from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter",
    "message", "requires",
)  # fmt: skip
"""Instruction names (case-insensitive in a Modelfile), in the order Ollama's error lists them."""

_COMMAND_NAMES = frozenset({"model", *INSTRUCTIONS} - {"from", "parameter"})
_ROLES = ("system", "user", "assistant")
_INVALID_COMMAND = (
    'command must be one of "from", "license", "template", "system", "adapter", "draft", "renderer", '
    '"parser", "parameter", "message", or "requires"'
)
_INVALID_ROLE = 'message role must be one of "system", "user", or "assistant"'
_BAD_REQUIRES = "requires must be a valid semver (e.g. 0.14.0)"

# golang.org/x/mod/semver after a "v" is prepended: vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]].
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"v{_NUM}(?:\.{_NUM}(?:\.{_NUM}(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?"
)


class Command(NamedTuple):
    """One instruction, in Ollama's representation (``parser.Command``).

    ``name`` is ``model`` for FROM, the lowercased instruction for the others, and the parameter
    name itself (case kept) for ``PARAMETER name value``. ``args`` is the value with its quotes
    removed; for MESSAGE it is ``"role: content"``.
    """

    name: str
    args: str

    @property
    def is_parameter(self) -> bool:
        """True for a PARAMETER line (any name that is not an instruction)."""
        return self.name not in _COMMAND_NAMES

    def to_line(self) -> str:
        """The instruction as ``show --modelfile`` writes it (without the newline)."""
        if self.name == "model":
            return f"FROM {quote_arg(self.args)}"
        if self.name == "message":
            role, _, content = self.args.partition(": ")
            return f"MESSAGE {role} {quote_arg(content)}"
        if self.is_parameter:
            return f"PARAMETER {self.name} {quote_arg(self.args)}"
        return f"{self.name.upper()} {quote_arg(self.args)}"


@dataclass
class Modelfile:
    """A parsed Modelfile: its commands in order, with accessors for what ``create`` needs."""

    commands: list[Command] = field(default_factory=list)

    def _all(self, name: str) -> list[str]:
        return [c.args for c in self.commands if c.name == name]

    def _last(self, name: str) -> str | None:
        found = self._all(name)
        return found[-1] if found else None

    @property
    def from_(self) -> str | None:
        """The first FROM: a model name, a GGUF file or a safetensors directory."""
        found = self._all("model")
        return found[0] if found else None

    @property
    def froms(self) -> list[str]:
        """Every FROM in order (a later one can name a projector)."""
        return self._all("model")

    @property
    def adapters(self) -> list[str]:
        return self._all("adapter")

    @property
    def template(self) -> str | None:
        """The last TEMPLATE, or None."""
        return self._last("template")

    @property
    def system(self) -> str | None:
        """The last SYSTEM, or None."""
        return self._last("system")

    @property
    def license(self) -> list[str]:
        """Every LICENSE, in order."""
        return self._all("license")

    @property
    def draft(self) -> str | None:
        return self._last("draft")

    @property
    def renderer(self) -> str | None:
        return self._last("renderer")

    @property
    def parser(self) -> str | None:
        return self._last("parser")

    @property
    def requires(self) -> str | None:
        """The last REQUIRES as a version without a ``v`` prefix; ModelfileError if not semver."""
        value = self._last("requires")
        if value is None:
            return None
        version = value if value.startswith("v") else "v" + value
        if not _SEMVER.fullmatch(version):
            raise ModelfileError(_BAD_REQUIRES)
        return version[1:]

    @property
    def messages(self) -> list[dict[str, str]]:
        """MESSAGE lines as ``{"role", "content"}`` dicts, in order."""
        out = []
        for args in self._all("message"):
            role, _, content = args.partition(": ")
            out.append({"role": role, "content": content})
        return out

    @property
    def parameters(self) -> dict[str, Any]:
        """PARAMETER lines typed by :func:`~corral.core.options.format_params`; repeated ``stop`` appends."""
        return self._typed_parameters()[0]

    @property
    def parameter_warnings(self) -> list[str]:
        """``parameter X is deprecated`` for each deprecated PARAMETER (those are left out)."""
        return self._typed_parameters()[1]

    def _typed_parameters(self) -> tuple[dict[str, Any], list[str]]:
        params: dict[str, Any] = {}
        warnings: list[str] = []
        for c in self.commands:
            if not c.is_parameter:
                continue
            for key, value in format_params({c.name: [c.args]}, warnings=warnings).items():
                if isinstance(value, list) and isinstance(params.get(key), list):
                    params[key].extend(value)
                else:
                    params[key] = value
        return params, warnings

    def to_text(self) -> str:
        """The commands as Modelfile text (one instruction per line, values quoted where needed)."""
        return serialize_modelfile(self.commands)


def serialize_modelfile(commands: Iterable[Command]) -> str:
    """Modelfile text for ``commands``: each on its own line, newline-terminated."""
    return "".join(c.to_line() + "\n" for c in commands)


def quote_arg(text: str) -> str:
    """Quote a value only when the parser would otherwise change it.

    Ollama quotes on a newline or a leading/trailing space; corral also quotes on a CR, a
    leading/trailing tab and a leading ``"`` (and quotes FROM, which Ollama never does) so that such
    values read back unchanged. A value containing three double quotes followed by whitespace
    cannot be written at all: the grammar has no escapes.
    """
    needs = "\n" in text or "\r" in text or text[:1] in (" ", "\t", '"') or text[-1:] in (" ", "\t")
    if not needs:
        return text
    return f'"""{text}"""' if '"' in text else f'"{text}"'


# ---------------------------------------------------------------------------------------------
# Parsing


class _State(enum.Enum):
    NIL = enum.auto()
    NAME = enum.auto()
    VALUE = enum.auto()
    PARAMETER = enum.auto()
    MESSAGE = enum.auto()
    COMMENT = enum.auto()


def _is_print(ch: str) -> bool:
    """Go's ``strconv.IsPrint`` (printable runes are kept; others are dropped, as Ollama does)."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def _is_alpha(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _unquote(text: str) -> str | None:
    """Strip ``\"\"\"`` or ``\"`` quotes; None when a quote is still open."""
    if text.startswith('"""'):
        return text[3:-3] if len(text) >= 6 and text.endswith('"""') else None
    if text.startswith('"'):
        return text[1:-1] if len(text) >= 2 and text.endswith('"') else None
    return text


def _decode(source: str | bytes) -> str:
    """Text from ``source``, honouring (and removing) a UTF-8 or UTF-16 byte order mark."""
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if source.startswith(bom):
            return source[len(bom) :].decode(codec, "replace")
    return source.decode("utf-8", "replace")


def _line_error(line: int, message: str) -> ModelfileError:
    return ModelfileError(f"(line {line}): {message}")


def parse_modelfile(source: str | bytes, *, validate: bool = True) -> Modelfile:
    """Parse Modelfile text (or bytes) into a :class:`Modelfile`.

    With ``validate`` (the default) every PARAMETER is typed and REQUIRES is checked too, as
    Ollama's client does before ``create``; without it only the grammar is checked, as Ollama's
    ``parser.ParseFile`` does. Raises :class:`ModelfileError` with Ollama's messages.
    """
    text = _decode(source)
    commands: list[Command] = []
    state = _State.NIL
    line = 1
    buf: list[str] = []
    name = role = ""
    is_param = False
    for i, ch in enumerate(text):
        newline = ch in "\r\n"
        space = ch in " \t"
        if ch == "\r" or (ch == "\n" and text[i - 1 : i] != "\r"):
            line += 1

        keep: str | None = None
        if state is _State.NIL:
            if space or newline:
                continue
            nxt, keep = (_State.COMMENT, None) if ch == "#" else (_State.NAME, ch)
        elif state is _State.NAME:
            if _is_alpha(ch):
                nxt, keep = _State.NAME, ch
            elif space:
                nxt = _State.VALUE
            else:
                raise _line_error(line, _INVALID_COMMAND)
        elif state is _State.VALUE:
            nxt, keep = (_State.NIL, ch) if newline or space else (_State.VALUE, ch)
        elif state is _State.COMMENT:
            nxt = _State.NIL if newline else _State.COMMENT
        else:  # PARAMETER name or MESSAGE role
            word_char = _is_alpha(ch) or (state is _State.PARAMETER and "0" <= ch <= "9")
            if word_char or (state is _State.PARAMETER and ch == "_"):
                nxt, keep = state, ch
            elif space:
                nxt = _State.VALUE
            else:
                raise ModelfileError("unexpected EOF: " + "".join(buf))

        if nxt is not state:
            if state is _State.NAME:
                word = "".join(buf).lower()
                if word not in INSTRUCTIONS:
                    raise _line_error(line, _INVALID_COMMAND)
                name = "model" if word == "from" else word
                if word == "parameter":
                    nxt = _State.PARAMETER
                elif word == "message":
                    nxt = _State.MESSAGE
            elif state is _State.PARAMETER:
                name, is_param = "".join(buf), True
            elif state is _State.MESSAGE:
                role = "".join(buf)
                if role not in _ROLES:
                    raise _line_error(line, _INVALID_ROLE)
            elif state is _State.VALUE:
                value = _unquote("".join(buf).strip(" \t\r\n"))
                if value is None or space:
                    buf.append(ch)  # inside quotes, or a space within the value: keep reading
                    continue
                commands.append(_command(name, value, role, validate and is_param))
                role, is_param = "", False
            buf.clear()
            state = nxt
        if keep is not None and _is_print(keep):
            buf.append(keep)

    if state is _State.VALUE:
        value = _unquote("".join(buf).strip(" \t\r\n"))
        if value is None:
            raise ModelfileError("unexpected EOF")
        commands.append(_command(name, value, role, validate and is_param))
    elif state not in (_State.NIL, _State.COMMENT):
        raise ModelfileError("unexpected EOF")

    if not any(c.name == "model" for c in commands):
        raise ModelfileError("no FROM line")
    modelfile = Modelfile(commands)
    if validate:
        _ = modelfile.requires
    return modelfile


def _command(name: str, value: str, role: str, check_parameter: bool) -> Command:
    """A finished instruction. A PARAMETER being validated is typed here, where it is still known
    to be one, so ``PARAMETER system x`` is an unknown parameter rather than a SYSTEM line."""
    if role:
        return Command("message", f"{role}: {value}")
    if check_parameter:
        format_params({name: [value]})
    return Command(name, value)


# ---------------------------------------------------------------------------------------------
# `show --modelfile`


# ---------------------------------------------------------------------------------------------
# FROM / ADAPTER paths

_LOCAL_PREFIXES = ("/", "\\", "./", "../", ".\\", "..\\", "~")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def resolve_path(arg: str, modelfile_dir: str | os.PathLike[str]) -> Path:
    """An absolute path for a FROM/ADAPTER argument: ``~`` and ``~user`` expanded, relative paths
    taken from the Modelfile's directory. Raises ModelfileError for an unknown ``~user``."""
    if arg.startswith(("/", "\\")) or os.path.isabs(arg):
        path = arg
    elif arg.startswith("~"):
        path = os.path.expanduser(arg)
        if path == arg:
            user = arg[1:].split("/", 1)[0]
            raise ModelfileError(f"failed to find user '{user}'")
    else:
        path = os.path.join(modelfile_dir, arg)
    return Path(os.path.abspath(path))


def is_local_path(arg: str, modelfile_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether a FROM argument names a local file or directory rather than a model.

    True when it looks like a path (``/``, ``./``, ``../``, ``~``, a drive letter) or when it exists
    relative to ``modelfile_dir`` (default: the working directory), as Ollama's client decides.
    """
    if arg.startswith(_LOCAL_PREFIXES) or arg in (".", "..") or _WINDOWS_DRIVE.match(arg):
        return True
    try:
        return resolve_path(arg, modelfile_dir if modelfile_dir is not None else os.getcwd()).exists()
    except (ModelfileError, OSError, ValueError):
        return False
