"""How a streamed answer reaches the terminal: word wrap, the thinking block, the spinner, timing stats."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from prompt_toolkit.utils import get_cwidth
from rich.console import Console

__all__ = ["Answer", "AnswerWriter", "format_stats", "go_duration", "show_answer", "waiting"]

_GREY, _BOLD, _RESET = "\x1b[90m", "\x1b[1m", "\x1b[0m"
_THINKING_OPEN = "Thinking...\n"
_THINKING_CLOSE = "...done thinking.\n\n"
_NS = {"s": 1_000_000_000, "ms": 1_000_000, "µs": 1_000}


def go_duration(ns: int) -> str:
    """Nanoseconds as Go's ``time.Duration.String`` writes them: ``"97.885315ms"``, ``"1m2.5s"``."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < _NS["s"]:
        unit = "µs" if ns < _NS["ms"] else "ms"
        return sign + _decimal(ns, _NS[unit]) + unit
    seconds, rem = divmod(ns, _NS["s"])
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    head = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + head + _decimal(seconds * _NS["s"] + rem, _NS["s"]) + "s"


def _decimal(value: int, scale: int) -> str:
    """``value / scale`` exactly, without trailing zeros (``_decimal(1500, 1000) == "1.5"``)."""
    whole, frac = divmod(value, scale)
    digits = f"{frac:0{len(str(scale)) - 1}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def format_stats(final: Mapping[str, Any]) -> str:
    """The ``--verbose`` block Ollama prints after an answer; lines for absent or zero values are left out."""

    def get(key: str) -> int:
        value = final.get(key)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0

    lines: list[tuple[str, str]] = []
    if get("total_duration") > 0:
        lines.append(("total duration:", go_duration(get("total_duration"))))
    if get("load_duration") > 0:
        lines.append(("load duration:", go_duration(get("load_duration"))))
    for prefix, count_key, duration_key in (
        ("prompt eval", "prompt_eval_count", "prompt_eval_duration"),
        ("eval", "eval_count", "eval_duration"),
    ):
        count, duration = get(count_key), get(duration_key)
        if count > 0:
            lines.append((f"{prefix} count:", f"{count} token(s)"))
        if duration > 0:
            lines.append((f"{prefix} duration:", go_duration(duration)))
            lines.append((f"{prefix} rate:", f"{count / (duration / 1e9):.2f} tokens/s"))
    return "".join(f"{label:<22}{value}\n" for label, value in lines)


@contextlib.contextmanager
def waiting(stream: TextIO | None = None) -> Iterator[contextlib.ExitStack]:
    """A spinner on a terminal ``stream`` (default stderr) until the caller closes the yielded stack.

    Callers close it as soon as the first output arrives, so the spinner never mixes with the answer.
    """
    stream = stream or sys.stderr
    with contextlib.ExitStack() as stack:
        if stream.isatty():
            stack.enter_context(Console(file=stream, highlight=False).status("", spinner="dots"))
        yield stack


class AnswerWriter:
    """Writes an answer as it streams: thinking in its own block, content word-wrapped on a terminal.

    Wrapping follows Ollama's CLI: a word that would cross the right margin (five columns short of
    the terminal width) is erased and written again at the start of the next line; a word too long
    to move is left to the terminal.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        wrap: bool = True,
        hide_thinking: bool = False,
        width: int | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.hide_thinking = hide_thinking
        self.is_terminal = self.out.isatty()
        if width is None:
            width = shutil.get_terminal_size((0, 0)).columns if self.is_terminal else 0
        self.width = width if wrap and width >= 10 else 0
        self.wrote = False
        self._column = 0
        self._word = ""
        self._thinking_open = False
        self._thinking_text = ""

    def thinking(self, text: str) -> None:
        """Write part of the model's reasoning (once: a ``Thinking...`` header first)."""
        if not text or self.hide_thinking:
            return
        if not self._thinking_open:
            self._thinking_open = True
            header = _THINKING_OPEN
            self._raw(f"{_GREY}{_BOLD}{header}{_RESET}{_GREY}" if self.is_terminal else header)
        self._thinking_text += text
        self._wrapped(text)

    def content(self, text: str) -> None:
        """Write part of the answer (closing an open thinking block first)."""
        if not text:
            return
        if self._thinking_open:
            self._thinking_open = False
            if not self._thinking_text.endswith("\n"):
                self._raw("\n")
            footer = _THINKING_CLOSE
            self._raw(f"{_GREY}{_BOLD}{footer}{_RESET}" if self.is_terminal else footer)
            self._column, self._word = 0, ""
        self._wrapped(text)

    def finish(self) -> None:
        """End the answer: restore the terminal's colour if it ended inside the thinking block."""
        if self._thinking_open and self.is_terminal:
            self._raw(_RESET)
        self._thinking_open = False

    def _raw(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self.wrote = True

    def _wrapped(self, text: str) -> None:
        if not self.width:
            self._raw(text)
            return
        margin = self.width - 5
        parts: list[str] = []
        for ch in text:
            if ch in "\r\n":
                parts.append(ch)
                self._column, self._word = 0, ""
                continue
            cells = get_cwidth(ch)
            if self._column + cells > margin:
                if ch in " \t":  # break at the space itself: it is not carried over
                    parts.append("\n")
                    self._column, self._word = 0, ""
                    continue
                moved = get_cwidth(self._word)
                if not self._word:
                    parts.append("\n")
                    self._column = 0
                elif moved <= self.width - 10:
                    # Erase the partial word, clear the line's tail, and start it again below.
                    parts.append(f"\x1b[{moved}D\x1b[K\n{self._word}")
                    self._column = moved
                else:  # too long to move: the terminal wraps it
                    self._column, self._word = 0, ""
            parts.append(ch)
            self._column += cells
            if ch in " \t" or cells >= 2:
                self._word = ""
            else:
                self._word += ch
        self._raw("".join(parts))


@dataclass
class Answer:
    """What a streamed answer came to: its text, its reasoning and its final chunk (metrics)."""

    content: str = ""
    thinking: str = ""
    final: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether the stream ended with its ``done`` chunk (not cut short)."""
        return bool(self.final.get("done"))


def _pieces(chunk: Mapping[str, Any]) -> tuple[str, str]:
    """(content, thinking) of a generate chunk or of a chat chunk's message."""
    message = chunk.get("message")
    source = message if isinstance(message, Mapping) else chunk
    key = "content" if isinstance(message, Mapping) else "response"
    content, thinking = source.get(key), source.get("thinking")
    return (content if isinstance(content, str) else "", thinking if isinstance(thinking, str) else "")


def show_answer(chunks: Iterator[Mapping[str, Any]], writer: AnswerWriter) -> Answer:
    """Write a generate or chat stream through ``writer`` with a spinner until the first output.

    An exception in the middle (Ctrl-C's ``KeyboardInterrupt``, a server error) closes the stream,
    which cancels the generation on the server, and propagates.
    """
    answer = Answer()
    try:
        with waiting() as spinner:
            for chunk in chunks:
                content, thinking = _pieces(chunk)
                if content or (thinking and not writer.hide_thinking):
                    spinner.close()
                writer.thinking(thinking)
                writer.content(content)
                answer.content += content
                answer.thinking += thinking
                if chunk.get("done"):
                    answer.final = dict(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):  # a generator: closing it closes the HTTP response
            close()
        writer.finish()
    return answer
