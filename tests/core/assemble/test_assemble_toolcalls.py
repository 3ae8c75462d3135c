"""ToolCallParser: golden outputs per template style, streaming in random pieces, ids and indexes."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from assemble_support import DATA, load_template, load_tools, run_tool_parser, split

from corral.core.assemble import ToolCallFormat, ToolCallParser, new_tool_call_id
from corral.core.templates import Tool, ToolFunction

CASES: list[dict[str, Any]] = json.loads((DATA / "toolcall_cases.json").read_text(encoding="utf-8"))
TOOLS = load_tools()


def expected_calls(case: dict[str, Any]) -> list[tuple[int, str, Any]]:
    return [(i, c["name"], list(c["arguments"].items())) for i, c in enumerate(case["calls"])]


def as_json(result: tuple[str, list[tuple[int, str, Any]]]) -> str:
    """Serialise content and calls so nested argument key order is compared too."""
    content, calls = result
    return json.dumps([content, [[i, n, dict(a)] for i, n, a in calls]], ensure_ascii=False)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_one_shot_matches_golden(case: dict[str, Any]) -> None:
    parser = ToolCallParser(load_template(case["template"]), TOOLS)
    content, calls = run_tool_parser(parser, [case["output"]])
    assert content == case["content"]
    assert calls == expected_calls(case)
    want = [[i, c["name"], c["arguments"]] for i, c in enumerate(case["calls"])]
    assert as_json((content, calls)) == json.dumps([case["content"], want], ensure_ascii=False)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_streaming_in_random_pieces_matches_one_shot(case: dict[str, Any]) -> None:
    template = load_template(case["template"])
    whole = as_json(run_tool_parser(ToolCallParser(template, TOOLS), [case["output"]]))
    for seed in range(25):
        pieces = split(case["output"], seed)
        assert as_json(run_tool_parser(ToolCallParser(template, TOOLS), pieces)) == whole, seed
    singles = list(case["output"])
    assert as_json(run_tool_parser(ToolCallParser(template, TOOLS), singles)) == whole


def test_content_before_the_prefix_streams_immediately() -> None:
    parser = ToolCallParser(load_template("tools/qwen3"), TOOLS)
    assert parser.push("Sure, ") == ("Sure, ", [])
    assert parser.push("checking <tool") == ("checking ", [])  # a possible tag start waits
    assert parser.push("_call>\n") == ("", [])
    content, calls = parser.push('{"name": "get_time", "arguments": {}}')
    assert content == ""
    assert [c.function.name for c in calls] == ["get_time"]  # reported as soon as the object closes
    assert parser.push("\n</tool_call>") == ("", [])
    assert parser.flush() == ("", [])


def test_disproved_partial_prefix_is_released() -> None:
    parser = ToolCallParser(load_template("tools/qwen3"), TOOLS)
    assert parser.push("a <tool") == ("a ", [])
    assert parser.push("box> b") == ("<toolbox> b", [])


def test_each_call_gets_an_id_and_a_running_index() -> None:
    parser = ToolCallParser(load_template("tools/qwen3"), TOOLS)
    out = (
        '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>'
        '<tool_call>{"name": "get_time", "arguments": {}}\n'
        '{"name": "web_search", "arguments": {}}</tool_call>'
    )
    calls = []
    for piece in split(out, 7):
        calls.extend(parser.push(piece)[1])
    calls.extend(parser.flush()[1])
    assert [c.function.index for c in calls] == [0, 1, 2]
    assert all(re.fullmatch(r"call_[a-z0-9]{8}", c.id) for c in calls)
    assert len({c.id for c in calls}) == 3


def test_id_factory_can_be_injected() -> None:
    ids = iter(["call_a", "call_b"])
    parser = ToolCallParser(None, TOOLS, new_id=lambda: next(ids))
    _, calls = parser.push('[{"name": "get_time"}, {"name": "get_time"}]')
    assert [c.id for c in calls] == ["call_a", "call_b"]


def test_new_tool_call_id_shape() -> None:
    ids = {new_tool_call_id() for _ in range(200)}
    assert all(re.fullmatch(r"call_[a-z0-9]{8}", i) for i in ids)
    assert len(ids) == 200


def test_inactive_without_tools_passes_everything_through() -> None:
    parser = ToolCallParser(load_template("tools/qwen3"), [])
    assert not parser.active
    text = '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>'
    assert parser.push(text) == (text, [])
    assert parser.push("{") == ("{", [])
    assert parser.flush() == ("", [])


def test_active_with_tools() -> None:
    assert ToolCallParser(None, TOOLS).active


def test_no_template_means_bare_json() -> None:
    parser = ToolCallParser(None, TOOLS)
    assert parser.call_format == ToolCallFormat(None, None)
    content, calls = run_tool_parser(parser, ['{"name": "get_time", "arguments": {}}'])
    assert (content, [c[1] for c in calls]) == ("", ["get_time"])


def test_names_must_be_offered_tools() -> None:
    only_time = [Tool(ToolFunction("get_time"))]
    parser = ToolCallParser(load_template("tools/qwen3"), only_time)
    out = '<tool_call>{"name": "web_search", "arguments": {"query": "x"}}</tool_call>'
    assert run_tool_parser(parser, [out]) == (out, [])


def test_explicit_format_overrides_the_template() -> None:
    parser = ToolCallParser(None, TOOLS, call_format=ToolCallFormat("<<CALL>>", "<</CALL>>"))
    content, calls = run_tool_parser(parser, split('ok <<CALL>>{"name": "get_time"}<</CALL>> done', 3))
    assert content == "ok  done"
    assert [c[1] for c in calls] == ["get_time"]


def test_long_arguments_stream_quickly() -> None:
    parser = ToolCallParser(load_template("tools/qwen3"), TOOLS)
    value = "x" * 200_000
    out = f'<tool_call>{{"name": "web_search", "arguments": {{"query": "{value}"}}}}</tool_call>'
    started = time.perf_counter()
    content, calls = run_tool_parser(parser, [out[i : i + 2] for i in range(0, len(out), 2)])
    assert time.perf_counter() - started < 5
    assert content == ""
    assert calls == [(0, "web_search", [("query", value)])]
