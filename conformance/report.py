"""Printing a Report: one rich table per endpoint and the closing ``N passed, N failed, N skipped`` line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance.runner import Outcome, Report

__all__ = ["print_report"]

_STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


def _detail(o: Outcome, verbose: bool) -> Text:
    text = Text()
    if o.result == "failed":
        problems = o.problems if verbose else o.problems[:3]
        text.append("\n".join(problems))
        if len(o.problems) > len(problems):
            text.append(f"\n(+{len(o.problems) - len(problems)} more)")
    elif o.result == "skipped":
        text.append(o.reason)
    elif verbose and o.notes:
        text.append("; ".join(o.notes), style="dim")
    return text


def print_report(report: Report, console: Console | None = None, verbose: bool = False) -> None:
    """Print ``report``: per endpoint, each transcript's result and why it failed or was skipped."""
    console = console or Console()
    for endpoint, outcomes in report.by_endpoint().items():
        counts = ", ".join(
            f"{report.count(r, endpoint)} {r}"
            for r in ("passed", "failed", "skipped")
            if report.count(r, endpoint)
        )
        table = Table(title=f"{endpoint}  ({counts})", title_justify="left", expand=True, show_lines=False)
        table.add_column("transcript", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("result", no_wrap=True)
        table.add_column("detail", ratio=1, overflow="fold")
        for o in outcomes:
            table.add_row(o.name, o.kind, Text(o.result, style=_STYLE[o.result]), _detail(o, verbose))
        console.print(table)
    console.print(report.summary(), style="bold")
