"""End to end over real HTTP: ``corral serve`` with the plugin installed, the CLI and ollama-python.

``corral create old -f Modelfile`` with ``FROM ./legacy.bin`` stores the GGML file as the model
layer; ``corral run old ...`` answers through the ctransformers backend; ``/api/show`` says the
format and the backend; a request the backend cannot honour is refused with 400.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ollama
import pytest

from corral.testing import free_port, stop_process, wait_for_http, write_tiny_ggml, write_tiny_ggml_gpt2

CORRAL = [sys.executable, "-m", "corral"]


def _serve(tmp: Path, **env: str) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    port = free_port()
    environ = {**os.environ, "CORRAL_HOST": f"127.0.0.1:{port}", "CORRAL_MODELS": str(tmp / "models"), **env}
    log = tmp / f"serve-{port}.log"
    proc = subprocess.Popen([*CORRAL, "serve"], env=environ, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_for_http(f"http://127.0.0.1:{port}/", proc, log=log, timeout=60)
    return proc, environ


def _cli(environ: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CORRAL, *args], env=environ, cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    tmp = tmp_path_factory.mktemp("serve")
    write_tiny_ggml(tmp / "legacy.bin", seed=5)
    (tmp / "Modelfile").write_text("FROM ./legacy.bin\nPARAMETER num_predict 8\n")
    proc, environ = _serve(tmp)
    yield environ, tmp
    stop_process(proc)
    shutil.rmtree(tmp / "models", ignore_errors=True)


def test_corral_backends_lists_the_plugin(server: tuple[dict[str, str], Path]) -> None:
    environ, tmp = server
    out = _cli(environ, "backends", cwd=tmp)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("ctransformers"))
    assert "yes" in row.split() and "0.2.27" in row


def test_create_and_run_a_legacy_ggml_model(server: tuple[dict[str, str], Path]) -> None:
    environ, tmp = server
    created = _cli(environ, "create", "old", "-f", "Modelfile", cwd=tmp)
    assert created.returncode == 0, created.stderr
    assert "success" in created.stdout + created.stderr
    ran = _cli(environ, "run", "old", "Why is the sky blue?", cwd=tmp)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip()

    client = ollama.Client(host=f"http://{environ['CORRAL_HOST']}")
    shown = client.show("old")
    assert shown.details is not None and shown.details.format == "ggjt"
    assert shown.details.family == "llama"
    body = client._client.post("/api/show", json={"model": "old"}).json()
    assert body["backend"]["name"] == "ctransformers"
    reply = client.generate(model="old", prompt="hello", options={"seed": 1, "temperature": 0})
    assert reply.done and (reply.eval_count or 0) >= 1
    assert reply.prompt_eval_count and reply.prompt_eval_count >= 2
    # The store has no tokenizer for a GGML file: /api/tokenize asks the loaded runner.
    tokens = client._client.post("/api/tokenize", json={"model": "old", "content": "hello world"}).json()
    assert tokens["tokens"] == [455, 457]  # "▁hello", "▁world" of the tiny vocabulary
    ps = client._client.get("/api/ps").json()["models"]
    assert any(
        m["name"].startswith("old") and m.get("backend", {}).get("name") == "ctransformers" for m in ps
    )


def test_a_ggml_gpt2_model_too(server: tuple[dict[str, str], Path]) -> None:
    environ, tmp = server
    write_tiny_ggml_gpt2(tmp / "gpt2.bin")
    (tmp / "Modelfile.gpt2").write_text("FROM ./gpt2.bin\nTEMPLATE {{ .Prompt }}\n")
    created = _cli(environ, "create", "old-gpt2", "-f", "Modelfile.gpt2", cwd=tmp)
    assert created.returncode == 0, created.stderr
    client = ollama.Client(host=f"http://{environ['CORRAL_HOST']}")
    shown = client.show("old-gpt2")
    assert shown.details is not None and (shown.details.format, shown.details.family) == ("ggml", "gpt2")
    reply = client.generate(
        model="old-gpt2", prompt="hello world", options={"num_predict": 5, "temperature": 0}
    )
    assert reply.done and reply.prompt_eval_count == 2


def test_what_the_backend_cannot_honour_is_a_400(server: tuple[dict[str, str], Path]) -> None:
    environ, tmp = server
    if _cli(environ, "show", "old", cwd=tmp).returncode != 0:
        assert _cli(environ, "create", "old", "-f", "Modelfile", cwd=tmp).returncode == 0
    client = ollama.Client(host=f"http://{environ['CORRAL_HOST']}")
    with pytest.raises(ollama.ResponseError) as err:
        client.generate(model="old", prompt="hello", format="json")
    assert err.value.status_code == 400
    with pytest.raises(ollama.ResponseError) as err:
        client.embed(model="old", input="hello")
    assert err.value.status_code == 400


def test_a_disabled_plugin_is_listed_and_its_models_say_why(tmp_path: Path) -> None:
    write_tiny_ggml(tmp_path / "legacy.bin", seed=5)
    (tmp_path / "Modelfile").write_text("FROM ./legacy.bin\n")
    proc, environ = _serve(tmp_path, CORRAL_DISABLED_PLUGINS="ctransformers,onnx")
    try:
        listed = _cli(environ, "backends", cwd=tmp_path)
        assert "disabled plugins (CORRAL_DISABLED_PLUGINS): onnx, ctransformers" in listed.stdout
        assert not any(line.startswith(("ctransformers", "onnx ")) for line in listed.stdout.splitlines())
        assert _cli(environ, "create", "old", "-f", "Modelfile", cwd=tmp_path).returncode == 0
        client = ollama.Client(host=f"http://{environ['CORRAL_HOST']}")
        with pytest.raises(ollama.ResponseError) as err:
            client.generate(model="old", prompt="hello")
        assert "does not read ggjt files" in str(err.value)
    finally:
        stop_process(proc)
