"""``corral serve`` refuses to listen beyond loopback without API keys unless told to (issue 17 item 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from corral.api.auth import bind_refusal
from corral.testing import free_port

pytestmark = pytest.mark.integration


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CORRAL_", "OLLAMA_"))}
    return subprocess.run(
        [sys.executable, "-m", "corral", "serve"],
        env={**clean, "CORRAL_MODELS": str(tmp_path / "models"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refuses_all_interfaces_without_keys(tmp_path: Path) -> None:
    done = serve(tmp_path, CORRAL_HOST=f"0.0.0.0:{free_port()}")
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0" in done.stderr
    assert "CORRAL_API_KEYS" in done.stderr and "CORRAL_ALLOW_UNAUTHENTICATED=true" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "models").exists()  # refused before touching anything


@pytest.mark.parametrize(
    ("host", "keys", "opt_out", "refused"),
    [
        ("127.0.0.1", False, False, False),
        ("localhost", False, False, False),
        ("::1", False, False, False),
        ("0.0.0.0", False, False, True),
        ("", False, False, True),
        ("192.168.1.10", False, False, True),
        ("0.0.0.0", True, False, False),
        ("0.0.0.0", False, True, False),
    ],
)
def test_bind_rule(host: str, keys: bool, opt_out: bool, refused: bool) -> None:
    from corral.core.config import HostURL

    loopback = HostURL("http", host, 1).is_loopback
    reason = bind_refusal(host=host, port=1, loopback=loopback, keys=keys, allow_unauthenticated=opt_out)
    assert (reason is not None) is refused
