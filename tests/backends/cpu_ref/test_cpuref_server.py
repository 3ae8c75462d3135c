"""cpu-ref behind the real server: PARAMETER backend cpu-ref over HTTP, and a venv without llama.cpp."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, free_port

GREEDY = {"temperature": 0, "seed": 3, "num_predict": 6}


def create_tiny(client: httpx.Client, tmp_path: Path, **parameters: object) -> None:
    data = write_tiny_gguf(tmp_path / "tiny.gguf", seed=1).read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert client.post(f"/api/blobs/{digest}", content=data).status_code in (200, 201)
    body = {
        "model": "tiny",
        "files": {"tiny.gguf": digest},
        "template": builtin_template("chatml").template,
        "parameters": parameters,
        "stream": False,
    }
    r = client.post("/api/create", json=body)
    assert r.status_code == 200, r.text


def test_parameter_backend_cpu_ref_serves_generate_and_chat(live_server: LiveServer, tmp_path: Path) -> None:
    client = live_server.client
    create_tiny(client, tmp_path, backend="cpu-ref")
    r = client.post(
        "/api/generate", json={"model": "tiny", "prompt": "hello", "stream": False, "options": GREEDY}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["done"] and body["eval_count"] == 6 and body["done_reason"] == "length"
    again = client.post(
        "/api/generate", json={"model": "tiny", "prompt": "hello", "stream": False, "options": GREEDY}
    ).json()
    assert again["response"] == body["response"]
    (loaded,) = client.get("/api/ps").json()["models"]
    assert loaded["backend"]["name"] == "cpu-ref" and loaded["size_vram"] == 0
    chat = client.post(
        "/api/chat",
        json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "options": GREEDY},
    )
    lines = [json.loads(x) for x in chat.text.splitlines() if x.strip()]
    assert lines[-1]["done"] and lines[-1]["eval_count"] == 6
    assert all(x["message"]["role"] == "assistant" for x in lines)


def test_corral_backend_setting_picks_cpu_ref(servers: object, tmp_path: Path) -> None:
    server: LiveServer = servers.start(backend="cpu-ref")  # type: ignore[attr-defined]
    create_tiny(server.client, tmp_path)
    r = server.client.post(
        "/api/generate", json={"model": "tiny", "prompt": "a", "stream": False, "options": GREEDY}
    )
    assert r.status_code == 200 and r.json()["eval_count"] == 6
    (loaded,) = server.client.get("/api/ps").json()["models"]
    assert loaded["backend"]["name"] == "cpu-ref" and "override" in loaded["backend"]["reason"]


def _venv_without_llama_cpp(root: Path) -> Path:
    """A real venv (``--without-pip``) whose only site path is a copy-by-symlink of this venv's
    site-packages minus llama_cpp, plus the source tree: llama_cpp is truly not importable."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    exposed = root / "site"
    exposed.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("llama_cpp", "__editable__")) and entry.suffix != ".pth":
            (exposed / entry.name).symlink_to(entry)
    python = root / "venv" / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    source = Path(__file__).resolve().parents[3]
    (Path(out.stdout.strip()) / "corral-deps.pth").write_text(f"{exposed}\n{source}\n")
    return python


@pytest.mark.slow
def test_serves_on_cpu_ref_without_llama_cpp_installed(tmp_path: Path) -> None:
    python = _venv_without_llama_cpp(tmp_path)
    probe = subprocess.run(
        [str(python), "-c", "import corral, numpy, gguf, litestar; import llama_cpp"],
        capture_output=True,
        text=True,
    )
    assert "No module named 'llama_cpp'" in probe.stderr
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "CORRAL_", "PYTHON"))}
    env.update(
        CORRAL_HOST=f"127.0.0.1:{port}",
        CORRAL_MODELS=str(tmp_path / "models"),
        CORRAL_BACKEND="cpu-ref",
        HOME=str(tmp_path),
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([str(python), "-m", "corral", "serve"], env=env, stdout=log, stderr=log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "serve.log"
                ).read_text()
                time.sleep(0.2)
            create_tiny(client, tmp_path)
            r = client.post(
                "/api/generate", json={"model": "tiny", "prompt": "hello", "stream": False, "options": GREEDY}
            )
            assert r.status_code == 200, r.text
            assert r.json()["eval_count"] == 6
            (loaded,) = client.get("/api/ps").json()["models"]
            assert loaded["backend"]["name"] == "cpu-ref"
    finally:
        # SIGTERM while the server is logging can deadlock in corral/api/server.py's signal
        # handler (it logs through the QueueHandler whose lock the main thread holds): let the
        # access log line go out first, and kill if it hangs anyway.
        time.sleep(0.5)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
