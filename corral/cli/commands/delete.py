"""``corral rm MODEL [MODEL...]``: delete models."""

from __future__ import annotations

import argparse

from corral.cli.commands import Command, Context

__all__ = ["COMMAND"]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", metavar="MODEL", nargs="+")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    # Models are deleted in order; the first failure stops the rest (Ollama does the same).
    with ctx.client() as client:
        for model in args.models:
            client.delete(model)
            print(f"deleted '{model}'")
    return 0


COMMAND = Command(name="rm", help="Remove a model", configure=_configure, run=_run)
