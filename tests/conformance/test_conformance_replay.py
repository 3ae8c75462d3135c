"""Replaying Ollama's transcripts against a live corral: every doc example and upstream test fixture
of an endpoint corral serves passes, or is skipped with a written reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import Report, load_transcripts, run
from conformance.compat import explain, render, replay_section, rows_for
from conformance.runner import Outcome
from tests.conftest import LiveServer, _Servers

pytestmark = pytest.mark.integration

IMPLEMENTED = [
    "GET /",
    "GET /api/version",
    "GET /api/tags",
    "POST /api/show",
    "GET /api/show",  # 405 method not allowed
    "POST /api/create",
    "POST /api/copy",
    "DELETE /api/delete",
    "POST /api/blobs/:digest",
    "POST /api/pull",
    "POST /api/generate",
    "POST /api/chat",
    "GET /api/ps",
    "POST /api/embed",
    "POST /api/embeddings",
    "POST /v1/chat/completions",
    "POST /v1/completions",
    "GET /v1/models",
    "GET /v1/models/:model",
]
"""Endpoints corral serves today; extend as issues land (/v1/* with issue 6; /api/push has no transcript)."""

ASSERTED_KINDS = ("doc-example", "test-fixture")

KNOWN_PROBLEMS: dict[str, str] = {}
"""Deviations reported to the lead and not fixed yet: a failure whose every problem contains one
of these texts is tolerated. Remove an entry once it stops occurring (the test says so)."""


def _explain(outcomes: list[Outcome]) -> str:
    return "\n".join(f"  {o.name} ({o.endpoint}): " + " | ".join(o.problems[:4]) for o in outcomes)


def _known(o: Outcome) -> bool:
    return bool(o.problems) and all(any(k in p for k in KNOWN_PROBLEMS) for p in o.problems)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    """One full run for the module's assertions (a server of its own, since it outlives a test)."""
    servers = _Servers(tmp_path_factory.mktemp("conformance"))
    try:
        server = servers.start()
        # Tiny random-weight models play chat, fill-in-the-middle, thinking and embedding; /api/pull pulls
        # gemma3:270m from its installed package (offline, a couple of seconds).
        yield run(server.base_url, tiny_models=True, num_predict=4)
    finally:
        servers.stop_all()


def test_doc_examples_and_fixtures_pass_on_implemented_endpoints(report: Report) -> None:
    failed = report.select("failed", kinds=ASSERTED_KINDS, endpoints=IMPLEMENTED)
    unexpected = [o for o in failed if not _known(o)]
    assert not unexpected, f"{len(unexpected)} transcript(s) failed:\n{_explain(unexpected)}"

    still_known = {k for k in KNOWN_PROBLEMS for o in failed for p in o.problems if k in p}
    fixed = set(KNOWN_PROBLEMS) - still_known
    assert not fixed, f"fixed, remove from KNOWN_PROBLEMS: {sorted(fixed)}"


def test_every_skip_has_a_reason_and_no_served_endpoint_counts_as_missing(report: Report) -> None:
    skipped = report.select("skipped")
    assert all(o.reason.strip() for o in skipped), [o.name for o in skipped if not o.reason.strip()]
    wrongly_pending = [o for o in skipped if o.endpoint in IMPLEMENTED and "404 page not found" in o.reason]
    assert not wrongly_pending, _explain(wrongly_pending)
    # What may be skipped on a served endpoint: unreproducible faults, old request forms, and
    # capabilities no offline model has (vision).
    served = report.select("skipped", kinds=ASSERTED_KINDS, endpoints=IMPLEMENTED)
    allowed = ("cannot be made", "no longer accepts", "safetensors", "'vision' capability")
    odd = [o for o in served if not any(a in o.reason for a in allowed)]
    assert not odd, "\n".join(f"{o.name}: {o.reason}" for o in odd)


def test_the_run_covers_every_shipped_transcript_and_most_pass(report: Report) -> None:
    assert len(report.outcomes) == len(load_transcripts())
    assert report.summary().endswith(" skipped")
    passed = report.select("passed", kinds=ASSERTED_KINDS, endpoints=IMPLEMENTED)
    assert len(passed) >= 25, report.summary()


COMPAT_DOC = Path(__file__).parents[2] / "docs" / "compatibility.md"


def test_compatibility_page_is_current_for_served_endpoints(report: Report) -> None:
    # Only the rows of endpoints listed above are compared, so work in progress elsewhere does not
    # make the page stale; every failure on them has a written explanation (deviations.toml).
    fresh = rows_for(render(report, load_transcripts()), IMPLEMENTED)
    committed = rows_for(replay_section(COMPAT_DOC.read_text()), IMPLEMENTED)
    stale = [row for row in fresh if row not in committed] + [row for row in committed if row not in fresh]
    assert not stale, "regenerate: python -m conformance.compat --out docs/compatibility.md\n" + "\n".join(
        stale
    )
    failed = report.select("failed", endpoints=IMPLEMENTED)
    unexplained = [o.name for o in failed if explain(o).startswith("not explained")]
    assert not unexplained, f"explain these in conformance/deviations.toml: {unexplained}"


def test_scratch_models_are_removed_after_a_run(live_server: LiveServer) -> None:
    run(live_server.base_url, only=["api_copy", "api_delete", "openapi_create_example"], tiny_models=True)
    names = [m["name"] for m in live_server.client.get("/api/tags").json()["models"]]
    assert not [n for n in names if n.startswith("conformance/")], names


def test_record_mode_writes_transcripts_that_replay(live_server: LiveServer, tmp_path: Path) -> None:
    chosen = ["root_get", "api_tags", "pyclient_chat_stream", "err_show_model_not_found", "api_copy"]
    first = run(live_server.base_url, only=chosen, tiny_models=True, num_predict=4, record_dir=tmp_path)
    assert not [o for o in first.select("failed") if not _known(o)], _explain(first.select("failed"))
    files = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert files == sorted(chosen)
    chat = json.loads((tmp_path / "pyclient_chat_stream.json").read_text())
    assert chat["kind"] == "recorded"
    assert chat["request"]["body"]["model"] == "conformance/tiny-chat"
    assert chat["response"]["format"] == "ndjson" and chat["response"]["chunks"][-1]["done"] is True

    again = run(live_server.base_url, tiny_models=True, num_predict=4, transcripts_dir=tmp_path)
    unexpected = [o for o in again.select("failed") if not _known(o)]
    assert not unexpected, _explain(unexpected)
    assert again.count("passed") + len(again.select("failed")) == len(chosen) == len(again.outcomes)
