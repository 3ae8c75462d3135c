"""``corral backends``: the installed inference backends, whether each can run here, and why."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from corral.cli.commands import Command, Context
from corral.cli.format import render_table

__all__ = ["COMMAND", "format_backends"]


def format_backends(body: Mapping[str, Any]) -> str:
    """The ``NAME AVAILABLE VERSION ACCELERATOR REASON`` table of a ``/api/backends`` answer, then
    the disabled plugins, the plugins that failed to load and the ``CORRAL_BACKEND`` override."""
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
    notes: list[str] = []
    disabled = body.get("disabled_plugins") or []
    if disabled:
        notes.append(f"disabled plugins (CORRAL_DISABLED_PLUGINS): {', '.join(map(str, disabled))}")
    for failed in body.get("failed_plugins") or []:
        notes.append(f"plugin {failed.get('name', '?')} failed to load: {failed.get('reason', '')}")
    override = body.get("override")
    if override:
        notes.append(f"CORRAL_BACKEND={override}: every model runs on it")
    return table + ("\n\n" + "\n".join(notes) if notes else "")


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
