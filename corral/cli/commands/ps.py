"""``corral ps [PREFIX]``: the loaded models, where they run and until when."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from corral.cli.client import RunningModel
from corral.cli.commands import Command, Context
from corral.cli.format import human_bytes, human_time, parse_timestamp, render_table

__all__ = ["COMMAND", "format_running", "processor"]


def processor(size: int, size_vram: int) -> str:
    """Where a model's memory lives: ``100% CPU``, ``100% GPU`` or ``48%/52% CPU/GPU``."""
    if size_vram == 0:
        return "100% CPU"
    if size_vram == size:
        return "100% GPU"
    if size_vram > size or size == 0:
        return "Unknown"
    cpu = int((size - size_vram) / size * 100 + 0.5)
    return f"{cpu}%/{100 - cpu}% CPU/GPU"


def _until(model: RunningModel, now: datetime) -> str:
    loading = model.get("loading")
    if loading is not None:
        progress = loading.get("progress")
        return "loading..." if progress is None else f"loading {int(float(progress) * 100)}%"
    when = parse_timestamp(model.get("expires_at"))
    if when is not None and when < now:
        return "Stopping..."
    return human_time(when, "Never", now=now)


def _slots(model: RunningModel) -> str:
    """``in use/total``, plus ``+N waiting`` when requests queue for the model (``-`` while loading)."""
    slots = model.get("slots")
    if not slots:
        return "-"
    text = f"{slots.get('in_use', 0)}/{slots.get('total', 0)}"
    waiting = int(slots.get("waiting", 0))
    return text + (f" +{waiting} waiting" if waiting else "")


def format_running(models: list[RunningModel], prefix: str | None = None, now: datetime | None = None) -> str:
    """The ``NAME ID SIZE PROCESSOR CONTEXT UNTIL SLOTS BACKEND`` table (SLOTS and BACKEND are
    corral's additions; UNTIL says ``loading 42%`` while a model loads)."""
    now = now or datetime.now(UTC)
    rows = [
        [
            m.get("name", ""),
            m.get("digest", "")[:12],
            human_bytes(int(m.get("size", 0))),
            processor(int(m.get("size", 0)), int(m.get("size_vram", 0))),
            str(m.get("context_length", 0)),
            _until(m, now),
            _slots(m),
            (m.get("backend") or {}).get("name", ""),
        ]
        for m in models
        if not prefix or m.get("name", "").startswith(prefix)
    ]
    return render_table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL", "SLOTS", "BACKEND"], rows)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", metavar="PREFIX", nargs="?", help="only models whose name starts with this")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        models = client.ps()
    print(format_running(models, args.prefix))
    return 0


COMMAND = Command(name="ps", help="List running models", configure=_configure, run=_run)
