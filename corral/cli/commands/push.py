"""``corral push MODEL``: upload a model to the registry its name points at, with progress bars."""

from __future__ import annotations

import argparse

from corral.cli.commands import Command, Context
from corral.cli.progress import ProgressDisplay

__all__ = ["COMMAND"]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--insecure", action="store_true", help="Use an insecure registry")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client, ProgressDisplay() as display:
        for event in client.push(args.model, insecure=args.insecure):
            display.update(event)
    return 0


COMMAND = Command(name="push", help="Push a model to a registry", configure=_configure, run=_run)
