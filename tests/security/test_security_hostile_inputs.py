"""Hostile model files and templates over HTTP (SECURITY.md rows 7-13, 21-26).

The parser-level tests (tests/core/test_gguf.py, tests/core/templates/test_templates_safety.py)
check the readers; these send the same inputs through /api/blobs, /api/create and /api/generate
of a live server and check the answer, that nothing was stored, and that the server still serves.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from corral.testing import invalid_model_cases, malformed_cases, write_tiny_gguf
from tests.conftest import LiveServer
from tests.security.security_support import create_tiny, store_snapshot

pytestmark = pytest.mark.integration

CASES = malformed_cases() + invalid_model_cases()


def rss_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) >> 10
    raise AssertionError("no VmRSS")


def test_hostile_ggufs_are_refused_at_create(live_server: LiveServer) -> None:
    c = live_server.client
    before_rss = rss_mib()
    for case in CASES:
        digest = "sha256:" + hashlib.sha256(case.data).hexdigest()
        assert c.post(f"/api/blobs/{digest}", content=case.data).status_code in (200, 201), case.name
        before = {k for k in store_snapshot(live_server.models) if k.startswith("manifests")}
        r = c.post("/api/create", json={"model": "evil", "files": {"m.gguf": digest}, "stream": False})
        assert r.status_code == 400, (case.name, r.status_code, r.text)
        assert case.error in r.json()["error"], (case.name, r.text)
        assert str(live_server.models) not in r.text
        after = {k for k in store_snapshot(live_server.models) if k.startswith("manifests")}
        assert after == before, case.name
        assert c.get("/").text == "Ollama is running"
    assert c.get("/api/tags").json() == {"models": []}
    assert rss_mib() - before_rss < 200  # no huge allocation for declared sizes near 2^63


@pytest.mark.parametrize(
    "template",
    [
        "{{ .__class__ }}",
        '{{ index . "__class__" }}',
        "{{ .Prompt.upper }}",
        "{{ $.System.__len__ }}",
        "{{ call .Prompt }}",
        '{{ printf "%s" .__globals__ }}',
    ],
)
def test_request_templates_cannot_reach_python(
    live_server: LiveServer, tmp_path: Path, template: str
) -> None:
    create_tiny(live_server.client, "tiny", write_tiny_gguf(tmp_path / "t.gguf").read_bytes())
    r = live_server.client.post(
        "/api/generate", json={"model": "tiny", "prompt": "hi", "template": template, "stream": False}
    )
    assert r.status_code in (400, 500), r.text
    error = r.json()["error"]
    assert error.startswith("template")
    assert not any(leak in error for leak in ("<class", "<function", "<built-in", "<method"))


def test_jinja_payload_in_a_model_is_never_executed(live_server: LiveServer, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}"
        "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"
        "{% for m in messages %}{{ m.content }}{% endfor %}"
    )
    gguf = write_tiny_gguf(tmp_path / "t.gguf", chat_template=payload).read_bytes()
    create_tiny(live_server.client, "jinja", gguf)
    r = live_server.client.post(
        "/api/chat",
        json={"model": "jinja", "messages": [{"role": "user", "content": "hi"}], "stream": False,
              "options": {"num_predict": 2}},
    )  # fmt: skip
    assert r.status_code in (200, 400, 500)
    assert not marker.exists()
    assert not os.path.exists(str(marker))


@pytest.mark.parametrize(
    "options",
    [
        {"num_keep": -5},
        {"num_ctx": -1},
        {"num_predict": "x"},
        {"top_k": -3},
        {"num_batch": 0},
        {"num_batch": 1 << 30},
        {"num_thread": 100_000},
    ],
)
def test_out_of_range_options_are_refused(
    live_server: LiveServer, tmp_path: Path, options: dict[str, object]
) -> None:
    create_tiny(live_server.client, "tiny", write_tiny_gguf(tmp_path / "t.gguf").read_bytes())
    r = live_server.client.post(
        "/api/generate", json={"model": "tiny", "prompt": "hi", "options": options, "stream": False}
    )
    assert r.status_code == 400, (options, r.text)
    assert "error" in r.json()
