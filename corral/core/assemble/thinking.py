"""Splitting a model's ``<think>…</think>`` block (or other tags) from the answer that follows it."""

from __future__ import annotations

from enum import Enum, auto

from corral.core.assemble._text import partial_start

__all__ = ["ThinkingParser", "prompt_opens_thinking", "starts_in_thinking"]


class _State(Enum):
    OPENING = auto()  # before any output: is there an opening tag?
    THINKING_START = auto()  # just after the opening tag: whitespace is dropped
    THINKING = auto()
    CONTENT_START = auto()  # just after the closing tag: whitespace is dropped
    CONTENT = auto()


def prompt_opens_thinking(prompt: str, opening: str) -> bool:
    """Whether a rendered prompt already ends with the opening tag (then the model starts thinking)."""
    return bool(opening) and prompt.rstrip().endswith(opening)


def starts_in_thinking(prompt: str, opening: str, closing: str, continued: str = "") -> bool:
    """Whether the model's output begins inside a thinking block.

    Either the rendered prompt ends with the opening tag (Ollama's check: a template that opens the
    block for the model), or ``continued`` (the text the model carries on: a prefilled assistant
    message, a raw prompt) opened a block and did not close it.
    """
    if prompt_opens_thinking(prompt, opening):
        return True
    at = continued.rfind(opening) if opening else -1
    return at >= 0 and continued.find(closing, at + len(opening)) < 0


class ThinkingParser:
    """Split streamed text into thinking and content.

    The thinking block counts only when the output starts with the opening tag (whitespace before it
    is allowed); otherwise everything is content. Whitespace right after either tag is dropped. Text
    that may be a partial tag is held back until it is known. With ``starts_in_thinking`` the opening
    tag is taken as already seen, for prompts that end with it (see ``prompt_opens_thinking``).
    """

    __slots__ = ("_buf", "_closing", "_opening", "_state")

    def __init__(
        self, opening: str = "<think>", closing: str = "</think>", *, starts_in_thinking: bool = False
    ) -> None:
        if not opening or not closing:
            raise ValueError("thinking tags must not be empty")
        self._opening = opening
        self._closing = closing
        self._state = _State.THINKING_START if starts_in_thinking else _State.OPENING
        self._buf = ""

    @property
    def in_thinking(self) -> bool:
        """Whether the parser is inside the thinking block."""
        return self._state in (_State.THINKING_START, _State.THINKING)

    def push(self, text: str) -> tuple[str, str]:
        """Add ``text``; return the (thinking, content) that can be emitted now."""
        self._buf += text
        thinking: list[str] = []
        content: list[str] = []
        while self._step(thinking, content):
            pass
        return "".join(thinking), "".join(content)

    def flush(self) -> tuple[str, str]:
        """Return what is held back at the end of generation as (thinking, content)."""
        rest, self._buf = self._buf, ""
        if self._state is _State.OPENING:
            return "", rest
        if self._state is _State.THINKING:
            return rest, ""
        return "", ""

    def _step(self, thinking: list[str], content: list[str]) -> bool:
        """Consume what the current state can decide; return whether to run another step."""
        buf = self._buf
        if self._state is _State.OPENING:
            trimmed = buf.lstrip()
            if trimmed.startswith(self._opening):
                self._buf = trimmed[len(self._opening) :]
                self._state = _State.THINKING_START
                return True
            if not trimmed or self._opening.startswith(trimmed):
                return False
            self._state = _State.CONTENT
            return True
        if self._state in (_State.THINKING_START, _State.CONTENT_START):
            self._buf = buf.lstrip()
            if not self._buf:
                return False
            self._state = _State.THINKING if self._state is _State.THINKING_START else _State.CONTENT
            return True
        if self._state is _State.THINKING:
            end = buf.find(self._closing)
            if end >= 0:
                thinking.append(buf[:end])
                self._buf = buf[end + len(self._closing) :]
                self._state = _State.CONTENT_START
                return True
            hold = partial_start(buf, (self._closing,))
            thinking.append(buf[:hold])
            self._buf = buf[hold:]
            return False
        content.append(buf)
        self._buf = ""
        return False
