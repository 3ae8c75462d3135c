"""Third-party plugins arrive through the ``corral`` entry-point group of an installed distribution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent

PROBE = r"""
import json, sys
from corral.plugins.manager import build_plugins
plugins = build_plugins()
print(json.dumps({"backends": sorted(plugins.backends), "plugins": plugins.plugin_names}))
"""

SERVE_WITH_ECHO = r"""
import asyncio, json, sys, tempfile, pathlib
from corral.core.config import load_config
from corral.core.services import build_services
from corral.core.inference import GenerateInput
from corral.testing import write_tiny_gguf
import hashlib

tmp = pathlib.Path(tempfile.mkdtemp())
cfg = load_config({}, models=tmp / "models", backend="echo")
services = build_services(cfg)
gguf = write_tiny_gguf(tmp / "t.gguf").read_bytes()
digest, _ = services.store.write_blob([gguf])
from corral.core.catalog import CreateSpec
services.catalog.create(CreateSpec(model="m", files={"t.gguf": digest}), lambda p: None)

async def main():
    out = []
    async for chunk in services.inference.generate(GenerateInput(model="m", prompt="hello", raw=True)):
        out.append(chunk.content)
    await services.stop()
    import corral_example_backend.plugin as p
    return "".join(out), p.EVENTS

text, events = asyncio.run(main())
print(json.dumps({"text": text, "events": events}))
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin pip-installed (for real: wheel build, dist-info, entry points) into a folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(HERE / "example_plugin"),
        ],
        check=True,
        capture_output=True,
    )
    return target


def _run(code: str, site: Path | None) -> str:
    env_path = str(site) if site else ""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    return result.stdout.strip().splitlines()[-1]


def test_installed_plugin_backend_is_found_through_entry_points(plugin_site: Path) -> None:
    import json

    found = json.loads(_run(PROBE, plugin_site))
    assert "echo" in found["backends"]
    assert "llamacpp" in found["backends"]  # built-ins register through the same hooks
    without = json.loads(_run(PROBE, None))
    assert "echo" not in without["backends"]


def test_installed_plugin_backend_serves_a_generation_and_observes_events(plugin_site: Path) -> None:
    import json

    out = json.loads(_run(SERVE_WITH_ECHO, plugin_site))
    assert out["text"] == "hello"
    events = out["events"]
    assert events.index("RequestStarted") < events.index("FirstToken") < events.index("RequestFinished")
    assert "ModelLoaded" in events and "ModelUnloaded" in events
