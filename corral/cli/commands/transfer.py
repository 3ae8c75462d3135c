"""What ``corral pull`` and ``corral push`` share: a MODEL, ``--insecure``, and progress bars."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator

from corral.cli.client import Client, ProgressEvent
from corral.cli.commands import Command, Context
from corral.cli.progress import ProgressDisplay

__all__ = ["Transfer", "transfer_command"]

Transfer = Callable[[Client, str, bool], Iterator[ProgressEvent]]
"""Starts the transfer: ``(client, model, insecure)`` → the server's progress events."""


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--insecure", action="store_true", help="Use an insecure registry")


def transfer_command(name: str, help: str, transfer: Transfer) -> Command:
    """A command that runs ``transfer`` for ``MODEL`` and shows its progress."""

    def run(args: argparse.Namespace, ctx: Context) -> int:
        with ctx.client() as client, ProgressDisplay() as display:
            for event in transfer(client, args.model, args.insecure):
                display.update(event)
        return 0

    return Command(name=name, help=help, configure=_configure, run=run)
