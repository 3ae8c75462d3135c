"""The subcommand registry: each command is one module exporting a :class:`Command`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from corral.cli.client import Client

__all__ = ["Command", "Context", "UsageError"]


class UsageError(Exception):
    """The user asked for something impossible (bad flags, missing file); printed as ``Error: ...``."""


@dataclass
class Context:
    """What a command needs besides its arguments: where the server is."""

    base_url: str

    def client(self) -> Client:
        """A new client for the server; close it (or use ``with``) when done."""
        return Client(self.base_url)


@dataclass(frozen=True)
class Command:
    """One subcommand.

    ``configure`` adds the command's arguments to its parser; ``run`` does the work and returns the
    exit code. Client errors raised by ``run`` are reported by ``main`` as ``Error: <message>``.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], int]
    aliases: tuple[str, ...] = ()
    description: str | None = None
    epilog: Callable[[], str] | None = field(default=None)
