"""Parsing tool calls out of streamed model output, in the format the model's template uses."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from enum import Enum, auto

from corral.core.assemble._calls import ObjectScanner, calls_from_json
from corral.core.assemble._text import partial_start
from corral.core.assemble.infer import ToolCallFormat, tool_call_format
from corral.core.templates import Tool, ToolCall, ToolCallFunction
from corral.core.templates.jinja_template import ChatTemplate

__all__ = ["ToolCallParser", "new_tool_call_id"]

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_SEPARATORS = "[],"


def new_tool_call_id() -> str:
    """A fresh tool-call id: ``call_`` and 8 random characters from ``[a-z0-9]``."""
    return "call_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


class _State(Enum):
    LOOKING = auto()  # plain content; watching for the prefix (or, without one, a leading { or [)
    CALLING = auto()  # inside tool-call markup: JSON objects, separators, prefixes, closing tags
    DONE = auto()  # content only from here on


class ToolCallParser:
    """Split streamed content into plain content and tool calls.

    The template tells the format (``tool_call_format``). With a prefix such as ``<tool_call>``,
    markup may start anywhere in the output; without one, only output whose first non-space
    character is ``{`` or ``[`` is tried. Inside markup the parser reads JSON objects, each a call
    (see ``calls_from_json``), separated by whitespace, commas, brackets, repeated prefixes or the
    closing tag. Markup that turns out not to be tool calls is given back as content, and so is
    text after the calls. Each call gets a new id and ``function.index`` counting from 0.

    ``new_id`` makes the ids (tests pass a predictable one); ``call_format`` replaces the format
    inferred from ``template``.
    """

    __slots__ = (
        "_buf",
        "_count",
        "_format",
        "_held",
        "_names",
        "_new_id",
        "_region_calls",
        "_scanner",
        "_started",
        "_state",
        "_tail",
    )

    def __init__(
        self,
        template: ChatTemplate | None,
        tools: Sequence[Tool],
        *,
        new_id: Callable[[], str] = new_tool_call_id,
        call_format: ToolCallFormat | None = None,
    ) -> None:
        self._names = frozenset(t.function.name for t in tools if t.function.name)
        self._format = ToolCallFormat()
        if self._names:
            self._format = call_format if call_format is not None else tool_call_format(template)
        self._new_id = new_id
        self._state = _State.LOOKING
        self._buf = ""
        self._tail: list[str] = []  # pieces of an unfinished object, joined once it closes
        self._held = ""  # markup consumed since the last call: content again if no call follows
        self._region_calls = False  # whether the current markup region produced a call yet
        self._started = False  # whether non-space content has been emitted
        self._count = 0
        self._scanner: ObjectScanner | None = None  # resumes the scan of an object still streaming

    @property
    def active(self) -> bool:
        """Whether tools were offered; without them ``push`` passes text straight through."""
        return bool(self._names)

    @property
    def call_format(self) -> ToolCallFormat:
        """The tool-call format in use."""
        return self._format

    def push(self, text: str) -> tuple[str, list[ToolCall]]:
        """Add ``text``; return the content to emit now and the tool calls completed now."""
        if not self._names:
            return text, []
        if self._scanner is not None and not self._scanner.feed(text):
            self._tail.append(text)  # inside an unfinished object: no need to look again yet
            return "", []
        self._buf = "".join([self._buf, *self._tail, text])
        self._tail.clear()
        return self._run(final=False)

    def flush(self) -> tuple[str, list[ToolCall]]:
        """End of output: return held-back content (markup that never became calls) and last calls."""
        if not self._names:
            return "", []
        self._buf = "".join([self._buf, *self._tail])
        self._tail.clear()
        return self._run(final=True)

    # -- state machine -------------------------------------------------------------------

    def _run(self, *, final: bool) -> tuple[str, list[ToolCall]]:
        content: list[str] = []
        calls: list[ToolCall] = []
        while True:
            if self._state is _State.DONE:
                content.append(self._buf)
                self._buf = ""
                break
            step = self._look if self._state is _State.LOOKING else self._call
            if not step(content, calls, final):
                break
        return "".join(content), calls

    def _look(self, content: list[str], calls: list[ToolCall], final: bool) -> bool:
        buf = self._buf
        prefix = self._format.prefix
        if prefix is None:
            trimmed = buf.lstrip()
            if not trimmed:
                if final:
                    content.append(buf)
                    self._buf = ""
                return False
            self._state = _State.CALLING if trimmed[0] in "{[" else _State.DONE
            return True
        at = buf.find(prefix)
        if at < 0:
            keep = len(buf) if final else partial_start(buf, (prefix,))
            if not final and not self._started and not buf[:keep].strip():
                return False  # leading whitespace waits: it is dropped if markup comes first
            content.append(buf[:keep])
            self._started = True
            self._buf = buf[keep:]
            return False
        before = buf[:at]
        if self._started or before.strip():
            content.append(before)
            self._started = True
            self._held = prefix
        else:
            self._held = before + prefix
        self._region_calls = False
        self._buf = buf[at + len(prefix) :]
        self._state = _State.CALLING
        return True

    def _call(self, content: list[str], calls: list[ToolCall], final: bool) -> bool:
        buf = self._buf
        rest = buf.lstrip()
        space = buf[: len(buf) - len(rest)]
        if not rest:
            if final:  # trailing whitespace after calls is dropped; after bare markup it is content
                self._fail(content, space if self._held else "")
            return False
        prefix, closing = self._format.prefix, self._format.closing
        for tag in (prefix, closing):
            if tag and rest.startswith(tag):
                self._consume(space + tag, is_prefix=tag == prefix)
                self._buf = rest[len(tag) :]
                return True
        if not final and any(tag and tag.startswith(rest) for tag in (prefix, closing)):
            return False
        if rest[0] in _SEPARATORS:
            self._consume(space + rest[0], is_prefix=False)
            self._buf = rest[1:]
            return True
        if rest[0] == "{":
            if self._scanner is None:
                self._scanner = ObjectScanner()
            end = self._scanner.end(rest)
            if end is None:
                if final:
                    self._fail(content, space)
                return final
            self._scanner = None
            found = self._decode(rest[:end])
            if found is None:
                self._fail(content, space)
                return True
            calls.extend(found)
            self._held = ""
            self._region_calls = True
            self._buf = rest[end:]
            return True
        self._fail(content, space)
        return True

    def _consume(self, markup: str, *, is_prefix: bool) -> None:
        """Account for markup read between calls: kept as possible content until a call follows."""
        if is_prefix and self._region_calls:
            self._held = markup.lstrip()
        elif self._held or not self._region_calls:
            self._held += markup

    def _fail(self, content: list[str], space: str) -> None:
        """What was read since the last call is not tool calls: give it back as content."""
        text = self._held + space
        content.append(text)
        self._started = self._started or bool(text.strip())
        self._buf = self._buf.lstrip()
        self._held = ""
        self._region_calls = False
        self._scanner = None
        self._state = _State.LOOKING if self._format.prefix is not None else _State.DONE

    def _decode(self, text: str) -> list[ToolCall] | None:
        try:
            value = json.loads(text)
        except ValueError:
            return None
        found = calls_from_json(value, self._names)
        if found is None:
            return None
        calls: list[ToolCall] = []
        for name, arguments in found:
            calls.append(ToolCall(ToolCallFunction(name, arguments, self._count), self._new_id()))
            self._count += 1
        return calls
