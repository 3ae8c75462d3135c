"""``corral stop MODEL``: unload a model now (an empty generate with ``keep_alive`` 0)."""

from __future__ import annotations

import argparse

from corral.cli.client import ResponseError
from corral.cli.commands import Command, Context, UsageError

__all__ = ["COMMAND"]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        try:
            client.show(args.model)
            client.load(args.model, keep_alive=0)
        except ResponseError as exc:
            if exc.status == 404 or "not found" in exc.message:
                raise UsageError(f'couldn\'t find model "{args.model}" to stop') from exc
            raise
    return 0


COMMAND = Command(name="stop", help="Stop a running model", configure=_configure, run=_run)
