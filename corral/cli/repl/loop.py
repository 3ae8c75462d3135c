"""The interactive chat loop: read a line, run a slash command or send the message, show the answer."""

from __future__ import annotations

import sys
from typing import TextIO

from corral.cli.client import Client, ClientError
from corral.cli.repl.commands import run_command
from corral.cli.repl.display import AnswerWriter, format_stats, show_answer
from corral.cli.repl.reader import Interrupted, LineReader
from corral.cli.repl.session import Session

__all__ = ["Repl"]

_FENCE = '"""'


class Repl:
    """One interactive conversation with ``session.model`` over ``client``.

    A line starting with ``\"\"\"`` opens a multi-line message that a line ending with ``\"\"\"``
    closes; ``/set system \"\"\"`` does the same for the system message.
    """

    def __init__(
        self,
        client: Client,
        session: Session,
        reader: LineReader,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.client = client
        self.session = session
        self.reader = reader
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._block: list[str] | None = None  # lines of an open multi-line block
        self._block_is_system = False

    def begin_system_block(self, first: str) -> None:
        """Start collecting a multi-line system message whose first line is ``first``."""
        self._block, self._block_is_system = [first], True

    def run(self) -> int:
        """Read and answer until ``/bye``, ``/exit`` or Ctrl-D; returns the exit code."""
        while True:
            try:
                line = self.reader.read(continuation=self._block is not None)
            except EOFError:
                print(file=self.out)
                return 0
            except Interrupted as exc:
                if not exc.text and self._block is None:
                    print("\nUse Ctrl + d or /bye to exit.", file=self.out, flush=True)
                self._block = None
                continue
            message = self._take(line)
            if message is None:
                return 0
            if message:
                self.send(message)

    def _take(self, line: str) -> str | None:
        """Fold ``line`` into the input: the message to send, "" for nothing yet, None to quit."""
        if self._block is not None:
            closed = line.endswith(_FENCE)
            self._block.append(line[: -len(_FENCE)] if closed else line)
            if not closed:
                return ""
            text, self._block = "\n".join(self._block), None
            if self._block_is_system:
                self._block_is_system = False
                self.session.set_system(text)
                print("Set system message.", file=self.out, flush=True)
                return ""
            return text
        if line.startswith(_FENCE):
            rest = line[len(_FENCE) :]
            if rest.endswith(_FENCE):
                return rest[: -len(_FENCE)]
            self._block, self._block_is_system = [rest], False
            return ""
        if line.startswith("/"):
            return "" if run_command(self, line) else None
        return line

    def send(self, text: str) -> None:
        """Send ``text`` as the next user message and show the answer as it streams.

        Ctrl-C stops the answer (the stream is closed, so the server stops generating) and the
        unanswered message stays in the conversation, as with Ollama. An error is reported and the
        message is taken back.
        """
        session = self.session
        session.messages.append({"role": "user", "content": text})
        writer = AnswerWriter(self.out, wrap=session.word_wrap, hide_thinking=session.hide_thinking)
        try:
            answer = show_answer(self.client.chat(session.chat_request()), writer)
        except KeyboardInterrupt:
            print(file=self.out, flush=True)
            return
        except ClientError as exc:
            session.messages.pop()
            if writer.wrote:
                print(file=self.out)
            print(f"Error: {exc}", file=self.err, flush=True)
            return
        session.messages.append({"role": "assistant", "content": answer.content})
        print("\n", file=self.out, flush=True)
        if session.verbose:
            print(format_stats(answer.final), end="", file=self.err, flush=True)
