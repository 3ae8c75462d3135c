"""The progress display: plain lines off a terminal, live rich bars on one."""

from __future__ import annotations

import io
import re

from rich.console import Console

from corral.cli.progress import ProgressDisplay

LAYER = "sha256:" + "ab12cd34ef56" + "0" * 52


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=120, color_system=None), buf


def test_plain_mode_prints_each_status_once_and_bars_when_done() -> None:
    console, buf = _console(terminal=False)
    with ProgressDisplay(console) as display:
        display.update({"status": "pulling manifest"})
        display.update({"status": "pulling manifest"})
        for done in (0, 500, 1000):
            display.update(
                {"status": "pulling ab12cd34ef56", "digest": LAYER, "total": 1000, "completed": done}
            )
        display.update(
            {"status": "pulling 999999999999", "digest": LAYER, "total": 4_000_000, "completed": 10}
        )
        display.update({"status": "success"})
    assert buf.getvalue().splitlines() == [
        "pulling manifest",
        "pulling ab12cd34ef56 100% 1 KB",
        "success",
        "pulling 999999999999 0% 4 MB",  # never finished: reported when the display stops
    ]


def test_live_mode_draws_bars_in_arrival_order() -> None:
    console, buf = _console(terminal=True)
    display = ProgressDisplay(console)
    assert display.live
    with display:
        display.update({"status": "pulling manifest"})
        display.set_bar("up", "copying file x", 2_000_000, 0)
        display.advance("up", 1_000_000)
        display.update({"status": "pulling ab12cd34ef56", "digest": LAYER, "total": 1000, "completed": 1000})
        display.update({"status": "using existing layer sha256:" + "a" * 64})
        display.update({"status": "success"})
    final_frame = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", buf.getvalue().split("\r")[-1])
    lines = [line.rstrip() for line in final_frame.splitlines()]
    assert lines[0] == "pulling manifest"
    assert re.fullmatch(r"copying file x +50% [━╸ ]{25} 1 MB/2 MB", lines[1])
    assert re.fullmatch(r"pulling ab12cd34ef56 100% ━{25} 1 KB", lines[2])
    # A long status wraps instead of being cut off; spinners are gone once the display stops.
    assert "".join(lines[3:-1]).replace(" ", "") == "usingexistinglayersha256:" + "a" * 64
    assert lines[-1] == "success"
