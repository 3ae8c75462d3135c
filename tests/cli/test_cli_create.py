"""``corral create``: the Modelfile → JSON request translation and the blob upload protocol."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fake_ollama import FakeOllama

from corral.cli.create_request import CreateRequestError, build_create_request, file_digest
from corral.cli.main import main
from corral.core.modelfile import parse_modelfile


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _plan(text: str, base: Path) -> dict[str, object]:
    return build_create_request(parse_modelfile(text), base).request


# -- request building (no HTTP) ---------------------------------------------------------------------


def test_from_model_name_and_every_field(tmp_path: Path) -> None:
    text = (
        "FROM gemma3:270m\n"
        'TEMPLATE """{{ .System }} {{ .Prompt }}"""\n'
        "SYSTEM You are terse.\n"
        "LICENSE MIT\nLICENSE Apache-2.0\n"
        "MESSAGE user hi there\nMESSAGE assistant hello\n"
        "PARAMETER temperature 0.5\nPARAMETER stop <end>\nPARAMETER stop <eot>\nPARAMETER num_ctx 2048\n"
    )
    plan = build_create_request(parse_modelfile(text), tmp_path)
    assert plan.blobs == []
    assert plan.request == {
        "from": "gemma3:270m",
        "template": "{{ .System }} {{ .Prompt }}",
        "system": "You are terse.",
        "license": ["MIT", "Apache-2.0"],
        "messages": [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello"}],
        "parameters": {"temperature": 0.5, "stop": ["<end>", "<eot>"], "num_ctx": 2048},
    }


def test_from_local_gguf_relative_to_modelfile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models").mkdir()
    weights = tmp_path / "models" / "tiny.gguf"
    weights.write_bytes(b"GGUF-not-really" * 100)
    monkeypatch.chdir("/")  # the path must resolve against the Modelfile's directory, not the cwd
    plan = build_create_request(parse_modelfile("FROM ./models/tiny.gguf\n"), tmp_path)
    digest = _digest(weights.read_bytes())
    assert plan.request == {"files": {"tiny.gguf": digest}}
    assert [(b.name, b.path, b.digest, b.size) for b in plan.blobs] == [("tiny.gguf", weights, digest, 1500)]
    assert file_digest(weights) == digest


def test_from_safetensors_directory_keeps_relative_names(tmp_path: Path) -> None:
    model = tmp_path / "minilm"
    (model / "1_Pooling").mkdir(parents=True)
    files = {
        "model.safetensors": b"weights",
        "config.json": b'{"a": 1}',
        "tokenizer.json": b"{}",
        "1_Pooling/config.json": b'{"pool": true}',
        "tokenizer.model": b"spm",
        "README.md": b"not part of the model",
    }
    for name, data in files.items():
        (model / name).write_bytes(data)
    req = _plan("FROM minilm\n", tmp_path)  # exists next to the Modelfile, so it is a path
    expected = {n: _digest(d) for n, d in files.items() if n != "README.md"}
    assert req == {"files": expected}


def test_adapter_becomes_adapters(tmp_path: Path) -> None:
    (tmp_path / "lora.gguf").write_bytes(b"lora")
    req = _plan("FROM base\nADAPTER ./lora.gguf\n", tmp_path)
    assert req == {"from": "base", "adapters": {"lora.gguf": _digest(b"lora")}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM ./missing.gguf\n", "./missing.gguf: no such file or directory"),
        ("FROM base\nADAPTER ./nope.gguf\n", "./nope.gguf: no such file or directory"),
        ("FROM ./empty\n", "no safetensors or gguf files found in"),
    ],
)
def test_bad_local_paths(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CreateRequestError, match=message.replace(".", r"\.")):
        _plan(text, tmp_path)


def test_deprecated_parameters_become_warnings(tmp_path: Path) -> None:
    plan = build_create_request(parse_modelfile("FROM base\nPARAMETER penalize_newline true\n"), tmp_path)
    assert "parameters" not in plan.request
    assert plan.warnings == ["parameter penalize_newline is deprecated"]


# -- the command against a server -------------------------------------------------------------------


def test_create_uploads_once_then_reuses_blob(
    server: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b"\x00GGUF" * 300_000  # 1.5 MB: more than one upload chunk
    (tmp_path / "tiny.gguf").write_bytes(data)
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text("FROM ./tiny.gguf\nSYSTEM be brief\nPARAMETER temperature 0\n")
    digest = _digest(data)
    blob_path = f"/api/blobs/{digest}"

    assert main(["create", "mine", "-f", str(modelfile), "-q", "q4_K_M"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "gathering model components"
    assert f"copying file {digest[7:19]} 100% 1.5 MB" in lines
    assert lines[-2:] == ["writing manifest", "success"]
    assert server.blobs[digest] == data
    assert (server.count("HEAD", blob_path), server.count("POST", blob_path)) == (1, 1)
    assert server.bodies[-1] == (
        "/api/create",
        {
            "model": "mine",
            "files": {"tiny.gguf": digest},
            "system": "be brief",
            "parameters": {"temperature": 0},
            "quantize": "q4_K_M",
            "stream": True,
        },
    )

    assert main(["create", "mine2", "-f", str(modelfile)]) == 0
    assert "copying file" not in capsys.readouterr().err
    assert (server.count("HEAD", blob_path), server.count("POST", blob_path)) == (2, 1)
    assert "mine2:latest" in server.models


def test_same_file_twice_is_uploaded_once(server: FakeOllama, tmp_path: Path) -> None:
    (tmp_path / "w.gguf").write_bytes(b"same bytes")
    (tmp_path / "Modelfile").write_text("FROM ./w.gguf\nADAPTER ./w.gguf\n")
    assert main(["create", "m", "-f", str(tmp_path / "Modelfile")]) == 0
    blob_path = f"/api/blobs/{_digest(b'same bytes')}"
    assert (server.count("HEAD", blob_path), server.count("POST", blob_path)) == (1, 1)


def test_default_modelfile_in_cwd(
    server: FakeOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Modelfile").write_text("FROM gemma3:270m\n")
    monkeypatch.chdir(tmp_path)
    assert main(["create", "m"]) == 0
    assert server.bodies[-1] == ("/api/create", {"model": "m", "from": "gemma3:270m", "stream": True})


def test_without_modelfile_the_cwd_is_the_model(
    server: FakeOllama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["create", "m"]) == 1
    assert "Error: no safetensors or gguf files found in" in capsys.readouterr().err
    (tmp_path / "model.safetensors").write_bytes(b"w")
    assert main(["create", "m"]) == 0
    assert server.bodies[-1][1]["files"] == {"model.safetensors": _digest(b"w")}


@pytest.mark.parametrize(
    ("modelfile", "error"),
    [
        (None, "Error: specified Modelfile wasn't found: "),
        ("FROB x\n", 'Error: (line 1): command must be one of "from", "license"'),
        ("SYSTEM hi\n", "Error: no FROM line"),
        ("FROM m\nPARAMETER temperature hot\n", "Error: invalid float value [hot]"),
    ],
)
def test_modelfile_errors_exit_1_without_calling_create(
    server: FakeOllama, tmp_path: Path, modelfile: str | None, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Modelfile"
    if modelfile is not None:
        path.write_text(modelfile)
    assert main(["create", "m", "-f", str(path)]) == 1
    err = capsys.readouterr().err
    assert error in err
    assert "Traceback" not in err
    assert server.count("POST", "/api/create") == 0


def test_server_error_from_create(
    server: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.fail[("POST", "/api/create")] = (400, '{"error":"invalid model name"}')
    (tmp_path / "Modelfile").write_text("FROM base\n")
    assert main(["create", "Bad Name", "-f", str(tmp_path / "Modelfile")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "Error: invalid model name"


def test_create_without_server(dead_host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "w.gguf").write_bytes(b"w")
    (tmp_path / "Modelfile").write_text("FROM ./w.gguf\n")
    assert main(["create", "m", "-f", str(tmp_path / "Modelfile")]) == 1
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith(f"Error: could not connect to corral server at {dead_host}")
    )
