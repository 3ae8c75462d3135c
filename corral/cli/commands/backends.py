"""``corral backends``: the installed inference backends, whether each can run here, and why."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from corral.cli.commands import Command, Context
from corral.cli.format import render_table

__all__ = ["COMMAND", "format_backends"]


def format_backends(body: Mapping[str, Any]) -> str:
    """The ``NAME AVAILABLE VERSION ACCELERATOR REASON`` table of a ``/api/backends`` answer, and the
    override line when ``CORRAL_BACKEND`` is set."""
    rows = [
        [
            str(b.get("name", "")),
            "yes" if b.get("available") else "no",
            str(b.get("version") or "-"),
            str(b.get("accelerator") or "-"),
            str(b.get("reason", "")),
        ]
        for b in body.get("backends") or []
    ]
    table = render_table(["NAME", "AVAILABLE", "VERSION", "ACCELERATOR", "REASON"], rows)
    override = body.get("override")
    if override:
        table += f"\n\nCORRAL_BACKEND={override}: every model runs on it"
    return table


def _configure(parser: argparse.ArgumentParser) -> None:
    del parser


def _run(args: argparse.Namespace, ctx: Context) -> int:
    del args
    with ctx.client() as client:
        body = client.backends()
    print(format_backends(body))
    return 0


COMMAND = Command(
    name="backends",
    help="List inference backends and whether they can run here",
    configure=_configure,
    run=_run,
)
