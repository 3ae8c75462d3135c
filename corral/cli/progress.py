"""Progress display for streamed pull/create/upload statuses: rich bars on a terminal, lines otherwise."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from corral.cli.client import ProgressEvent
from corral.cli.format import human_bytes

__all__ = ["ProgressDisplay"]

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_BAR_WIDTH = 25


@dataclass
class _Item:
    """One line of the display: a status (``total`` None) or a byte-count bar."""

    label: str
    total: int | None = None
    completed: int = 0
    started: float = field(default_factory=time.monotonic)
    first_completed: int = 0
    done: bool = False
    printed: bool = False


def _seconds(s: float) -> str:
    s = int(s)
    return (
        f"{s // 3600}h{s // 60 % 60:02d}m"
        if s >= 3600
        else f"{s // 60}m{s % 60:02d}s"
        if s >= 60
        else f"{s}s"
    )


def _render_bar(item: _Item, now: float) -> RenderableType:
    total = item.total or 0
    pct = 100 * item.completed // total if total else 100
    row = Table.grid(padding=(0, 1))
    cells: list[RenderableType] = [
        Text(item.label, no_wrap=True),
        Text(f"{pct:3d}%"),
        ProgressBar(total=max(total, 1), completed=item.completed, width=_BAR_WIDTH),
    ]
    if item.completed >= total:
        cells.append(Text(human_bytes(total)))
    else:
        cells.append(Text(f"{human_bytes(item.completed)}/{human_bytes(total)}"))
        elapsed = now - item.started
        rate = (item.completed - item.first_completed) / elapsed if elapsed > 0.5 else 0.0
        if rate > 0:
            cells += [Text(f"{human_bytes(int(rate))}/s"), Text(_seconds((total - item.completed) / rate))]
    for _ in cells:
        row.add_column(no_wrap=True)
    row.add_row(*cells)
    return row


class ProgressDisplay:
    """Shows a sequence of statuses the way Ollama's CLI does.

    A status that carries a digest and a total becomes a progress bar (percent, bytes, speed, ETA),
    keyed by the status text so repeated updates move the same bar; any other status becomes a line
    with a spinner that stops when the next status arrives. Lines stay in arrival order. Output goes
    to stderr. When that is not a terminal, each status is written once as a plain line (a bar when
    it completes, or when the display stops).
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.live = self.console.is_terminal
        self._items: dict[str, _Item] = {}
        self._last_status: _Item | None = None
        self._live: Live | None = None
        if self.live:
            self._live = Live(
                console=self.console, get_renderable=self._render, refresh_per_second=10, transient=False
            )

    def __enter__(self) -> ProgressDisplay:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop spinners and the live display; in plain mode, print bars that never finished."""
        self._finish_status()
        if self._live is not None:
            self._live.stop()
            return
        for item in self._items.values():
            if item.total is not None and not item.printed:
                self._print_bar(item)

    def update(self, event: ProgressEvent) -> None:
        """Show one event of a pull/create/push stream."""
        status = event.get("status", "")
        if event.get("digest") and event.get("total"):
            self.set_bar(status, status, int(event.get("total", 0)), int(event.get("completed", 0)))
        elif status:
            self.status(status)

    def status(self, text: str) -> None:
        """Start a new status line (stopping the previous one's spinner); repeats are ignored."""
        if self._last_status is not None and self._last_status.label == text:
            return
        self._finish_status()
        item = _Item(text)
        self._items[f"status:{len(self._items)}"] = item
        self._last_status = item
        if self._live is None:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def set_bar(self, key: str, description: str, total: int, completed: int = 0) -> None:
        """Create or move the bar ``key`` to ``completed`` of ``total`` bytes."""
        self._finish_status()
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = _Item(description, total, completed, first_completed=completed)
        item.label, item.total, item.completed = description, total, completed
        item.done = completed >= total
        if self._live is None and item.done and not item.printed:
            self._print_bar(item)

    def advance(self, key: str, n: int) -> None:
        """Move the bar ``key`` forward by ``n`` bytes."""
        item = self._items[key]
        self.set_bar(key, item.label, item.total or 0, item.completed + n)

    def _finish_status(self) -> None:
        if self._last_status is not None:
            self._last_status.done = True
            self._last_status = None

    def _render(self) -> RenderableType:
        now = time.monotonic()
        lines: list[RenderableType] = []
        for item in list(self._items.values()):
            if item.total is not None:
                lines.append(_render_bar(item, now))
            elif item.done:
                lines.append(Text(item.label))
            else:
                lines.append(Text(f"{item.label} {_SPINNER[int(now * 10) % len(_SPINNER)]}"))
        return Group(*lines)

    def _print_bar(self, item: _Item) -> None:
        item.printed = True
        total = item.total or 0
        pct = 100 * item.completed // total if total else 100
        line = f"{item.label} {pct}% {human_bytes(total)}"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
