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
skipped = [[s.name, s.reason, s.disabled] for s in plugins.skipped]
print(json.dumps({"backends": sorted(plugins.backends), "plugins": plugins.plugin_names, "skipped": skipped}))
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
    return _install(tmp_path_factory.mktemp("site"), HERE / "example_plugin")


def _install(target: Path, project: Path) -> Path:
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "--target", str(target), str(project)],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A distribution with two bad plugins: one raises on import, one implements an unknown hook."""
    return _install(tmp_path_factory.mktemp("broken"), HERE / "broken_plugin")


def _run(code: str, *sites: Path | None, env: dict[str, str] | None = None) -> str:
    env_path = ":".join(str(site) for site in sites if site)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **(env or {})},
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


def test_a_plugin_that_fails_to_load_is_reported_and_skipped(plugin_site: Path, broken_site: Path) -> None:
    import json

    found = json.loads(_run(PROBE, plugin_site, broken_site))
    assert "echo" in found["backends"] and "llamacpp" in found["backends"]  # the others still load
    skipped = {name: (reason, disabled) for name, reason, disabled in found["skipped"]}
    assert set(skipped) == {"broken", "misspelled"}
    assert "ImportError" in skipped["broken"][0] and "a_dependency_nobody_installed" in skipped["broken"][0]
    assert "corral_register_backend" in skipped["misspelled"][0]
    assert not skipped["broken"][1] and not skipped["misspelled"][1]
    assert "misspelled" not in found["plugins"]


def test_corral_disabled_plugins_leaves_out_entry_points_and_builtins(plugin_site: Path) -> None:
    import json

    found = json.loads(_run(PROBE, plugin_site, env={"CORRAL_DISABLED_PLUGINS": "example, onnx"}))
    assert "echo" not in found["backends"] and "onnx" not in found["backends"]
    assert "llamacpp" in found["backends"]
    assert [name for name, _, disabled in found["skipped"] if disabled] == ["onnx", "example"]
    assert "example" not in found["plugins"] and "onnx" not in found["plugins"]
