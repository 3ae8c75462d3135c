"""The CLI against the real corral server (``live_server`` from tests/conftest.py) over loopback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corral.cli.format import human_bytes
from corral.cli.main import main
from corral.testing import write_tiny_gguf


@pytest.mark.usefixtures("cli_live_server")
def test_model_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tiny_gguf(tmp_path / "tiny.gguf")
    (tmp_path / "Modelfile").write_text(
        "FROM ./tiny.gguf\nSYSTEM You are terse.\nPARAMETER temperature 0.25\nPARAMETER stop <end>\n"
    )
    assert main(["ls"]) == 0
    assert capsys.readouterr().out.split() == ["NAME", "ID", "SIZE", "MODIFIED"]

    assert main(["create", "tiny", "-f", str(tmp_path / "Modelfile")]) == 0
    err = capsys.readouterr().err
    size = human_bytes((tmp_path / "tiny.gguf").stat().st_size)
    assert re.search(rf"^copying file [0-9a-f]{{12}} 100% {size}$", err, re.M)
    assert err.splitlines()[-1] == "success"
    # A second create finds the blob on the server (HEAD 200) and uploads nothing.
    assert main(["create", "tiny2", "-f", str(tmp_path / "Modelfile")]) == 0
    err = capsys.readouterr().err
    assert "copying file" not in err and err.splitlines()[-1] == "success"

    assert main(["list"]) == 0
    rows = [re.split(r" {4,}", line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r[0] for r in rows[1:]) == ["tiny2:latest", "tiny:latest"]
    assert all(re.fullmatch(r"[0-9a-f]{12}", r[1]) for r in rows[1:])
    assert all(r[3].endswith(" ago") for r in rows[1:])

    assert main(["show", "tiny"]) == 0
    out = capsys.readouterr().out
    assert any(line.split() == ["architecture", "llama"] for line in out.splitlines())
    assert any(line.split() == ["temperature", "0.25"] for line in out.splitlines())
    assert "  System" in out and "You are terse." in out

    assert main(["show", "tiny", "--system"]) == 0
    assert capsys.readouterr().out == "You are terse."
    assert main(["show", "tiny", "--modelfile"]) == 0
    assert "PARAMETER stop <end>" in capsys.readouterr().out

    assert main(["cp", "tiny", "tiny3"]) == 0
    assert capsys.readouterr().out == "copied 'tiny' to 'tiny3'\n"
    assert main(["rm", "tiny", "tiny2", "tiny3"]) == 0
    assert capsys.readouterr().out == "deleted 'tiny'\ndeleted 'tiny2'\ndeleted 'tiny3'\n"
    assert main(["ls"]) == 0
    assert capsys.readouterr().out.split() == ["NAME", "ID", "SIZE", "MODIFIED"]


@pytest.mark.usefixtures("cli_live_server")
def test_errors_from_the_real_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "nope"]) == 1
    assert capsys.readouterr().err == "Error: model 'nope:latest' not found\n"
    assert main(["rm", "nope"]) == 1
    assert capsys.readouterr().err == "Error: model 'nope' not found\n"
    assert main(["cp", "nope", "x"]) == 1
    assert capsys.readouterr().err == 'Error: model "nope" not found\n'
