"""The conformance suite's comparison engine, without a server: keys, types, exact values, streams."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conformance.compare import Comparer
from conformance.judge import KnownKeys, judge
from conformance.rules import Rules
from conformance.streams import DONE, Captured, capture, compare_stream
from conformance.transcripts import KINDS, Transcript, endpoint_of, load_transcripts

RULES = Rules.load()
CORPUS = load_transcripts()
KNOWN = KnownKeys.of(CORPUS)
BY_NAME = {t.name: t for t in CORPUS}


def _captured(status: int, body: Any, ctype: str = "application/json; charset=utf-8") -> Captured:
    if isinstance(body, list):
        raw = "".join(json.dumps(c) + "\n" for c in body).encode()
        ctype = "application/x-ndjson"
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode() if body is not None else b""
    return capture(httpx.Response(status, content=raw, headers={"content-type": ctype}))


def _judge(name: str, cap: Captured, sent: Any = None) -> list[str]:
    t = BY_NAME[name]
    rules = RULES.for_endpoint(t.endpoint)
    return judge(t, cap, t.expected, t.chunks, rules, KNOWN.get(t), sent_body=sent).problems


def test_every_shipped_transcript_loads_with_a_known_kind() -> None:
    assert len(CORPUS) == 116
    assert {t.kind for t in CORPUS} <= set(KINDS)
    assert all(t.method in ("GET", "POST", "DELETE", "HEAD") for t in CORPUS)


def test_endpoint_names_fold_path_parameters() -> None:
    assert endpoint_of("post", "/api/blobs/sha256:abc") == "POST /api/blobs/:digest"
    assert endpoint_of("GET", "/v1/models/llama3.2") == "GET /v1/models/:model"
    assert endpoint_of("GET", "/api/tags") == "GET /api/tags"


GENERATE_FINAL = {
    "model": "m",
    "created_at": "2024-01-01T00:00:00.5Z",
    "response": "hi",
    "done": True,
    "done_reason": "stop",
    "context": [1],
    "total_duration": 5,
    "load_duration": 1,
    "prompt_eval_count": 2,
    "prompt_eval_duration": 3,
    "eval_count": 4,
    "eval_duration": 5,
}


def _cmp(endpoint: str, expected: Any, actual: Any, lenient: bool = False) -> list[str]:
    return Comparer(RULES.for_endpoint(endpoint), frozenset(KNOWN.paths[(endpoint, True)]), lenient).compare(
        expected, actual
    )


def test_identical_shapes_pass_and_values_other_than_exact_ones_may_differ() -> None:
    actual = GENERATE_FINAL | {"response": "something else", "eval_count": 99}
    assert _cmp("POST /api/generate", GENERATE_FINAL, actual) == []


def test_missing_key_wrong_type_and_unknown_key_are_problems() -> None:
    actual = dict(GENERATE_FINAL)
    del actual["total_duration"]
    actual["eval_count"] = "4"
    actual["surprise"] = 1
    problems = _cmp("POST /api/generate", GENERATE_FINAL, actual)
    assert "total_duration: missing" in problems
    assert any(p.startswith("eval_count: string") for p in problems)
    assert any(p.startswith("surprise: unexpected key") for p in problems)


def test_optional_and_extension_keys_are_accepted() -> None:
    actual = dict(GENERATE_FINAL)
    del actual["context"]  # optional: absent in raw mode
    actual["thinking"] = "hmm"  # documented extension
    assert _cmp("POST /api/generate", GENERATE_FINAL, actual) == []


def test_integer_stands_for_a_number_but_not_the_other_way_round() -> None:
    assert Comparer(RULES.for_endpoint("*")).compare({"v": 1.5}, {"v": 2}) == []
    assert Comparer(RULES.for_endpoint("*")).compare({"v": 2}, {"v": 1.5}) != []


def test_exact_values_error_text_and_done_reason_load() -> None:
    problems = _cmp("POST /api/generate", {"error": "model 'x' not found"}, {"error": "model x not found"})
    assert problems and problems[0].startswith("error:")
    expected = {
        "model": "m",
        "created_at": "2024-01-01T00:00:00Z",
        "response": "",
        "done": True,
        "done_reason": "load",
    }
    assert _cmp("POST /api/generate", expected, expected | {"done_reason": "stop"}) != []
    stop = expected | {"done_reason": "stop"}
    assert _cmp("POST /api/generate", stop, stop | {"done_reason": "length"}) == []
    assert _cmp("POST /api/generate", expected, expected | {"model": "other"}) != []


def test_client_mock_comparison_only_needs_the_mocked_keys() -> None:
    expected = {"model": "dummy", "response": "Because it is."}
    assert _cmp("POST /api/generate", expected, GENERATE_FINAL, lenient=True) == []
    assert _cmp("POST /api/generate", {"error": "Invalid image data"}, {"error": "other"}, lenient=True) == []


def test_timestamps_must_be_rfc3339() -> None:
    bad = GENERATE_FINAL | {"created_at": "yesterday"}
    assert any("created_at" in p for p in _cmp("POST /api/generate", GENERATE_FINAL, bad))


def test_list_elements_are_checked_against_every_expected_element() -> None:
    expected = BY_NAME["api_tags"].expected
    entry = dict(expected["models"][0])
    assert _cmp("GET /api/tags", expected, {"models": [entry]}) == []
    broken = {k: v for k, v in entry.items() if k != "digest"}
    assert "models[].digest: missing" in _cmp("GET /api/tags", expected, {"models": [entry, broken]})
    assert _cmp("GET /api/tags", expected, {"models": []}) != []
    null_families = entry | {"details": entry["details"] | {"families": None}}
    assert _cmp("GET /api/tags", expected, {"models": [null_families]}) == []


def test_free_form_values_only_need_the_same_json_type() -> None:
    expected = BY_NAME["openapi_show_example"].expected
    actual = dict(expected)
    actual["model_info"] = {"llama.block_count": 2}
    assert _cmp("POST /api/show", expected, actual) == []
    actual["model_info"] = []
    assert _cmp("POST /api/show", expected, actual) != []


def _stream(endpoint: str, expected: list[Any], actual: list[Any]) -> list[str]:
    rules = RULES.for_endpoint(endpoint)
    return compare_stream(expected, actual, rules, frozenset(KNOWN.paths[(endpoint, True)]), lenient=False)


def test_generate_stream_needs_done_flags_and_a_chunk_before_the_final_one() -> None:
    t = BY_NAME["api_generate_streaming"]
    first = {"model": "llama3.2", "created_at": "2024-01-01T00:00:00Z", "response": "a", "done": False}
    final = dict(t.chunks[-1]) | {"done_reason": "stop"}
    assert _stream(t.endpoint, t.chunks, [first, first, final]) == []
    assert any("only a final chunk" in p for p in _stream(t.endpoint, t.chunks, [final]))
    assert "a chunk before the final one is not done=false" in _stream(
        t.endpoint, t.chunks, [first | {"done": True}, final]
    )
    assert "final chunk has done=False" in _stream(t.endpoint, t.chunks, [first, first])
    errored = _stream(t.endpoint, t.chunks, [first, {"error": "boom"}])
    assert errored == ["stream carries an error: 'boom'"]


def test_status_stream_lines_order_vocabulary_and_success() -> None:
    t = BY_NAME["api_pull_streaming"]
    digest = "sha256:" + "a" * 64
    good = [
        {"status": "pulling manifest"},
        {"status": "pulling aaaaaaaaaaaa", "digest": digest, "total": 10},
        {"status": "pulling aaaaaaaaaaaa", "digest": digest, "total": 10, "completed": 10},
        {"status": "verifying sha256 digest"},
        {"status": "writing manifest"},
        {"status": "success"},
    ]
    assert _stream(t.endpoint, t.chunks, good) == []
    swapped = [good[0], good[4], good[3], good[5]]
    assert any("in order" in p for p in _stream(t.endpoint, t.chunks, swapped))
    odd = [*good[:-1], {"status": "downloading stuff"}, good[-1]]
    assert any("not one this endpoint sends" in p for p in _stream(t.endpoint, t.chunks, odd))
    assert any("last status" in p for p in _stream(t.endpoint, t.chunks, good[:-1]))


def test_sse_stream_must_end_with_done() -> None:
    t = BY_NAME["openai_completions_streaming_include_usage"]
    chunks = [c for c in t.chunks if c != DONE]
    assert _stream(t.endpoint, t.chunks, [*chunks, DONE]) == []
    assert "SSE stream does not end with data: [DONE]" in _stream(t.endpoint, t.chunks, chunks)


def test_judge_status_content_type_and_empty_bodies() -> None:
    assert (
        _judge("err_show_model_not_found", _captured(404, {"error": "model 'nope:latest' not found"})) == []
    )
    wrong = _judge("err_show_model_not_found", _captured(400, {"error": "model 'nope:latest' not found"}))
    assert wrong and wrong[0].startswith("status 400")
    text = _judge(
        "err_show_model_not_found", _captured(404, {"error": "model 'nope:latest' not found"}, "text/plain")
    )
    assert any("content type" in p for p in text)
    assert _judge("api_copy", _captured(200, None)) == []
    assert _judge("api_copy", _captured(200, {"status": "success"})) != []
    assert _judge("root_get", _captured(200, "Ollama is running", "text/plain; charset=utf-8")) == []
    assert _judge("root_get", _captured(200, "Ollama is up", "text/plain; charset=utf-8")) != []


def test_judge_joins_a_stream_the_document_shows_as_one_object() -> None:
    # api_generate_reproducible_seed does not send stream:false, so a real server streams.
    t = BY_NAME["api_generate_reproducible_seed"]
    first = {"model": "mistral", "created_at": "2024-01-01T00:00:00Z", "response": "a", "done": False}
    final = GENERATE_FINAL | {"model": "mistral", "response": ""}
    assert _judge(t.name, _captured(200, [first, final]), sent=t.body) == []
    # With stream:false asked for, a stream is wrong.
    problems = _judge(t.name, _captured(200, [first, final]), sent=t.body | {"stream": False})
    assert problems


@pytest.mark.parametrize("name", ["api_chat_no_streaming", "api_generate_no_streaming", "api_ps", "api_show"])
def test_each_transcript_matches_itself(name: str) -> None:
    t = BY_NAME[name]
    assert _judge(name, _captured(t.status, t.expected, t.content_type or "application/json")) == []


def test_transcript_from_json_defaults() -> None:
    t = Transcript.from_json(
        {
            "name": "n",
            "kind": "recorded",
            "request": {"method": "get", "path": "/"},
            "response": {"status": 200, "body": "Ollama is running"},
        }
    )
    assert (t.method, t.stream, t.recorded, t.ok, t.endpoint) == ("GET", False, True, True, "GET /")
