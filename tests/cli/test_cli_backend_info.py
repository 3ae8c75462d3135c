"""``corral ps`` shows loads in progress; ``corral show`` prints the Backend section."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from corral.cli.client import RunningModel, ShowResponse
from corral.cli.commands.ps import format_running
from corral.cli.commands.show import format_info

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def _loading(name: str, progress: float | None) -> RunningModel:
    return {
        "name": name,
        "model": name,
        "size": 0,
        "digest": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        "expires_at": "2262-04-11T23:47:16.854775807Z",
        "size_vram": 0,
        "context_length": 4096,
        "backend": {"name": "onnx", "reason": "onnx: ONNX Runtime CPUExecutionProvider"},
        "loading": {"progress": progress, "seconds": 3.5},
    }


def test_ps_until_column_shows_loading_progress() -> None:
    lines = format_running([_loading("a:latest", 0.424), _loading("b:latest", None)], now=NOW).splitlines()
    rows = [re.split(r" {4,}", line) for line in lines[1:]]
    assert rows[0][5:] == ["loading 42%", "-", "onnx"]  # no slots while loading
    assert rows[1][5:] == ["loading...", "-", "onnx"]


def test_show_prints_the_backend_and_why() -> None:
    resp: ShowResponse = {
        "details": {"family": "llama", "quantization_level": "F16"},
        "capabilities": ["completion"],
        "backend": {"name": "llamacpp", "reason": "llama.cpp on CPU (best fit)"},
    }
    out = format_info(resp)
    assert "  Backend\n    llamacpp    llama.cpp on CPU (best fit)\n" in out
    unrunnable = format_info({"backend": {"name": None, "reason": 'backend "x" is not installed'}})
    assert '  Backend\n    none    backend "x" is not installed\n' in unrunnable
    assert "Backend" not in format_info({"capabilities": ["completion"]})
