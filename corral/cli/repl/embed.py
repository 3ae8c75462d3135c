"""``corral run`` with an embedding-only model: each input becomes one JSON array on one line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol, TextIO

from corral.cli.repl.reader import Interrupted

__all__ = ["LineSource", "embed_loop", "format_vector"]

_QUIT = ("/bye", "/exit")


class LineSource(Protocol):
    """What :func:`embed_loop` reads from (a :class:`~corral.cli.repl.reader.LineReader`)."""

    def read(self, continuation: bool = False) -> str:
        """One line; ``EOFError`` at the end, :class:`Interrupted` on Ctrl-C."""
        ...


class Embedder(Protocol):
    """The client call :func:`embed_loop` needs (:meth:`corral.cli.client.Client.embed`)."""

    def embed(
        self, model: str, inputs: Sequence[str], *, keep_alive: str | int | None = None
    ) -> list[list[float]]:
        """One vector per input."""
        ...


def format_vector(vector: Sequence[float]) -> str:
    """A vector as Ollama's CLI prints it: a compact JSON array (``[0.1,-0.2,...]``)."""
    return json.dumps(list(vector), separators=(",", ":"))


def embed_loop(
    client: Embedder, model: str, reader: LineSource, out: TextIO, *, keep_alive: str | None = None
) -> int:
    """Read lines until ``/bye``, ``/exit`` or Ctrl-D and print each line's vector on one line."""
    while True:
        try:
            line = reader.read()
        except EOFError:
            print(file=out)
            return 0
        except Interrupted as exc:
            if not exc.text:
                print("\nUse Ctrl + d or /bye to exit.", file=out, flush=True)
            continue
        text = line.strip()
        if text in _QUIT:
            return 0
        if not text:
            continue
        vectors = client.embed(model, [text], keep_alive=keep_alive)
        print(format_vector(vectors[0]), file=out, flush=True)
