"""``corral cp SRC DST``: copy a model under a new name."""

from __future__ import annotations

import argparse

from corral.cli.commands import Command, Context

__all__ = ["COMMAND"]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument("destination", metavar="DESTINATION")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        client.copy(args.source, args.destination)
    print(f"copied '{args.source}' to '{args.destination}'")
    return 0


COMMAND = Command(name="cp", help="Copy a model", configure=_configure, run=_run)
