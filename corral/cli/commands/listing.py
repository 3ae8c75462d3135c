"""``corral list`` / ``ls [PREFIX]``: the local models as a table."""

from __future__ import annotations

import argparse

from corral.cli.client import ModelEntry
from corral.cli.commands import Command, Context
from corral.cli.format import human_bytes, human_time, parse_timestamp, render_table

__all__ = ["COMMAND", "format_models"]


def format_models(models: list[ModelEntry], prefix: str | None = None) -> str:
    """The ``NAME ID SIZE MODIFIED`` table; only names starting with ``prefix`` when given."""
    rows = [
        [
            m.get("name", ""),
            m.get("digest", "")[:12],
            human_bytes(int(m.get("size", 0))),
            human_time(parse_timestamp(m.get("modified_at")), "Never"),
        ]
        for m in models
        if not prefix or m.get("name", "").startswith(prefix)
    ]
    return render_table(["NAME", "ID", "SIZE", "MODIFIED"], rows)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", metavar="PREFIX", nargs="?", help="only models whose name starts with this")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        models = client.list_models()
    print(format_models(models, args.prefix))
    return 0


COMMAND = Command(name="list", aliases=("ls",), help="List models", configure=_configure, run=_run)
