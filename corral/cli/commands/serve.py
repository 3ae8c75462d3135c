"""``corral serve`` (alias ``start``): run the HTTP server in the foreground."""

from __future__ import annotations

import argparse

from corral.cli.commands import Command, Context
from corral.core.config import load_config, settings_table

__all__ = ["COMMAND"]


def _configure(parser: argparse.ArgumentParser) -> None:
    del parser  # configured entirely through the environment, like Ollama


def _epilog() -> str:
    return "Settings (environment variables; CORRAL_* wins over OLLAMA_*):\n" + settings_table()


def _run(args: argparse.Namespace, ctx: Context) -> int:
    del args, ctx
    # Imported here so that client commands never pay for (or depend on) the server stack.
    from corral.api.server import serve

    serve(load_config())
    return 0


COMMAND = Command(
    name="serve",
    aliases=("start",),
    help="Start the corral server",
    description="Start the corral server. It is configured with environment variables only.",
    configure=_configure,
    run=_run,
    epilog=_epilog,
)
