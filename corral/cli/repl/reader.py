"""Reading REPL input lines with prompt_toolkit: prompts, history that can be switched off, Ctrl-C."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

__all__ = ["Interrupted", "LineReader", "SwitchableHistory", "default_history_path"]

PROMPT = ">>> "
CONTINUATION = "... "
_PLACEHOLDER = "Send a message (/? for help)"
_CONTINUATION_PLACEHOLDER = "Press Enter to send"


def default_history_path() -> Path:
    """Where input lines are remembered between sessions: ``~/.corral/history``."""
    return Path.home() / ".corral" / "history"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C at the prompt; ``text`` is what was typed on the line when it was pressed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SwitchableHistory(History):
    """A history that stops recording (in memory and on disk) while ``enabled`` is False."""

    def __init__(self, inner: History) -> None:
        super().__init__()
        self.inner = inner
        self.enabled = True

    def load_history_strings(self) -> Iterable[str]:
        """The stored lines, newest first."""
        return self.inner.load_history_strings()

    def store_string(self, string: str) -> None:
        """Persist ``string`` unless recording is off."""
        if self.enabled:
            self.inner.store_string(string)

    def append_string(self, string: str) -> None:
        """Remember ``string`` for this session and persist it, unless recording is off."""
        if self.enabled:
            super().append_string(string)


def _file_history(path: Path | None) -> History:
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:  # an unwritable home must not stop the chat
        return InMemoryHistory()
    return FileHistory(str(path))


class LineReader:
    """One prompt_toolkit session for the whole REPL.

    :meth:`read` raises ``EOFError`` on Ctrl-D at an empty line and :class:`Interrupted` on Ctrl-C.
    """

    def __init__(self, history_path: Path | None = None) -> None:
        self.history = SwitchableHistory(_file_history(history_path))
        bindings = KeyBindings()

        @bindings.add("c-c")
        def _interrupt(event: KeyPressEvent) -> None:
            event.app.exit(exception=Interrupted(event.app.current_buffer.text), style="class:aborting")

        self._session: PromptSession[str] = PromptSession(history=self.history, key_bindings=bindings)

    def read(self, continuation: bool = False) -> str:
        """One line from the user, shown after ``>>> `` (or ``... `` inside a multi-line block)."""
        hint = _CONTINUATION_PLACEHOLDER if continuation else _PLACEHOLDER
        return self._session.prompt(
            CONTINUATION if continuation else PROMPT,
            placeholder=FormattedText([("fg:ansibrightblack", hint)]),
        )
