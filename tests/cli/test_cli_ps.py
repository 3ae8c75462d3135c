"""``corral ps`` (table of loaded models) and ``corral stop``."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_cli_run import add_tiny

from corral.cli.client import RunningModel
from corral.cli.commands.ps import format_running, processor
from corral.cli.format import human_bytes
from corral.cli.main import main
from tests.conftest import LiveServer

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("size", "vram", "shown"),
    [
        (1000, 0, "100% CPU"),
        (1000, 1000, "100% GPU"),
        (1000, 520, "48%/52% CPU/GPU"),
        (1000, 2000, "Unknown"),
        (3, 1, "67%/33% CPU/GPU"),
    ],
)
def test_processor_column(size: int, vram: int, shown: str) -> None:
    assert processor(size, vram) == shown


def _model(name: str, expires: datetime, **extra: object) -> RunningModel:
    entry = {
        "name": name,
        "model": name,
        "size": 253_000_000,
        "digest": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "size_vram": 0,
        "context_length": 4096,
        "backend": {"name": "llamacpp", "reason": "llama.cpp on CPU"},
        **extra,
    }
    return entry  # type: ignore[return-value]


def test_table_columns_and_until() -> None:
    models = [
        _model("a:latest", NOW + timedelta(minutes=4, seconds=59)),
        _model("b:latest", NOW + timedelta(days=365 * 292)),
        _model(
            "c:latest",
            NOW - timedelta(seconds=1),
            size_vram=253_000_000,
            slots={"total": 4, "in_use": 4, "waiting": 3},
        ),
    ]
    lines = format_running(models, now=NOW).splitlines()
    header = ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL", "SLOTS", "BACKEND"]
    assert re.split(r" {4,}", lines[0]) == header
    rows = [re.split(r" {4,}", line) for line in lines[1:]]
    assert rows[0] == [
        "a:latest",
        "a5fd3b62230a",
        "253 MB",
        "100% CPU",
        "4096",
        "4 minutes from now",
        "-",
        "llamacpp",
    ]
    assert rows[1][5] == "Forever"
    assert rows[2][3:7] == ["100% GPU", "4096", "Stopping...", "4/4 +3 waiting"]
    assert format_running(models, prefix="b", now=NOW).splitlines()[1].startswith("b:latest")


@pytest.mark.usefixtures("cli_live_server")
def test_ps_and_stop_against_the_server(
    live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_tiny(live_server, tmp_path)
    c = live_server.client

    assert main(["ps"]) == 0
    assert capsys.readouterr().out.split() == [
        "NAME",
        "ID",
        "SIZE",
        "PROCESSOR",
        "CONTEXT",
        "UNTIL",
        "SLOTS",
        "BACKEND",
    ]

    assert c.post("/api/generate", json={"model": "tiny", "keep_alive": "1h"}).json()["done_reason"] == "load"
    running = c.get("/api/ps").json()["models"][0]
    assert main(["ps"]) == 0
    row = re.split(r" {4,}", capsys.readouterr().out.splitlines()[1])
    assert row == [
        "tiny:latest",
        running["digest"][:12],
        human_bytes(running["size"]),
        "100% CPU",
        str(running["context_length"]),
        "59 minutes from now",
        f"0/{running['slots']['total']}",
        "llamacpp",
    ]

    assert main(["stop", "tiny"]) == 0
    assert capsys.readouterr() == ("", "")
    deadline = time.monotonic() + 10
    while c.get("/api/ps").json()["models"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert c.get("/api/ps").json() == {"models": []}

    assert main(["stop", "nope"]) == 1
    assert capsys.readouterr().err == 'Error: couldn\'t find model "nope" to stop\n'
