"""/api/show answers from what is known per model digest: the same answer again without re-reading
the GGUF, never a stale one when the model changes, never one bent by an earlier caller."""

from __future__ import annotations

from pathlib import Path

from test_generate import add_tiny

from corral.core.catalog.known import Known
from tests.conftest import LiveServer


def test_answers_follow_the_content_and_the_name(live_server: LiveServer, tmp_path: Path) -> None:
    add_tiny(live_server, tmp_path)
    first = live_server.client.post("/api/show", json={"model": "tiny"}).json()
    assert live_server.client.post("/api/show", json={"model": "tiny"}).json() == first
    assert len(live_server.services.catalog.known) == 2  # the body and the idle backend report
    # Same manifest under another name: the modelfile names the copy.
    assert (
        live_server.client.post("/api/copy", json={"source": "tiny", "destination": "twin"}).status_code
        == 200
    )
    twin = live_server.client.post("/api/show", json={"model": "twin"}).json()
    assert "# FROM twin:latest" in twin["modelfile"] and "# FROM tiny:latest" in first["modelfile"]
    # Re-created with another system prompt: a new manifest digest, so a new answer.
    add_tiny(live_server, tmp_path, system="Be terse.")
    changed = live_server.client.post("/api/show", json={"model": "tiny"}).json()
    assert changed["system"] == "Be terse." and "system" not in first


def test_a_callers_adjustment_does_not_leak(live_server: LiveServer, tmp_path: Path) -> None:
    add_tiny(live_server, tmp_path)
    copilot = live_server.client.post(
        "/api/show", json={"model": "tiny"}, headers={"User-Agent": "GitHubCopilotChat/0.30"}
    ).json()
    assert copilot["model_info"]["general.basename"] == "tiny"
    plain = live_server.client.post("/api/show", json={"model": "tiny"}).json()
    assert plain["model_info"].get("general.basename") != "tiny"


def test_known_is_a_bounded_lru_memo() -> None:
    known = Known(max_entries=2)
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert known.get("a", lambda: compute("a")) == "A"
    assert known.get("a", lambda: compute("a")) == "A" and calls == ["a"]
    known.get("b", lambda: compute("b"))
    known.get("a", lambda: compute("a"))  # a becomes the most recent
    known.get("c", lambda: compute("c"))  # evicts b
    known.get("b", lambda: compute("b"))
    assert calls == ["a", "b", "c", "b"] and len(known) == 2
