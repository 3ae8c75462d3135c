"""The compatibility page generator: features read from requests, explanations, client results."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import compat
from conformance.compat import explain, features_of, page, render_clients, replay_section, rows_for
from conformance.runner import Outcome, Report
from conformance.transcripts import load_transcripts

BY_NAME = {t.name: t for t in load_transcripts()}


def test_features_come_from_the_request() -> None:
    assert features_of(BY_NAME["api_chat_streaming_tools"]) == ["basic", "streaming", "tools"]
    assert "format: schema" in features_of(BY_NAME["api_chat_structured_outputs"])
    assert features_of(BY_NAME["err_show_model_not_found"])[0] == "error answer"


def test_every_deviation_gets_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in deviations.toml entry (the real file may have none left).
    table = {"quantizing to Q4_K_M is not supported by corral yet": "corral cannot quantize on create yet"}
    monkeypatch.setattr(compat, "_explanations", lambda: table)
    skipped = Outcome("a", "doc-example", "POST /api/chat", "skipped", reason="needs vision")
    problem = "status 400 where the transcript has 200; quantizing to Q4_K_M is not supported by corral yet"
    known = Outcome("b", "doc-example", "POST /api/create", "failed", problems=[problem])
    unknown = Outcome("c", "test-fixture", "POST /api/chat", "failed", problems=["done: expected true"])
    assert explain(skipped) == "needs vision"
    assert explain(known).startswith("corral cannot quantize on create yet")
    assert explain(unknown).startswith("not explained yet")

    report = Report("http://x", [skipped, known, unknown])
    text = page(report, load_transcripts())
    section = replay_section(text)
    assert section and "**Transcripts: 0 passed, 2 failed, 1 skipped.**" in section
    rows = rows_for(section, ["POST /api/create"])
    assert rows[0] == "| `POST /api/create` | 0 | 1 | 0 | ❌ deviates |"
    assert any(r.startswith("| b | `POST /api/create` |") and "Observed: status 400" in r for r in rows)


def test_client_results_from_junit(tmp_path: Path) -> None:
    junit = tmp_path / "clients.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.clients.test_client_litellm" name="test_a"/>'
        '<testcase classname="tests.clients.test_client_litellm" name="test_b">'
        '<failure message="x"/></testcase>'
        "</testsuite></testsuites>"
    )
    text = render_clients(junit)
    assert "**1 passed, 1 failed, 0 skipped.**" in text
    assert "| litellm | `test_b` | ❌ failed |" in text
