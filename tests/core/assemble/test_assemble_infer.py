"""Inferring tool-call prefixes and thinking tags from templates by rendering sentinels."""

from __future__ import annotations

import pytest
from assemble_support import load_template

from corral.core.assemble import (
    ToolCallFormat,
    prompt_opens_thinking,
    starts_in_thinking,
    thinking_tags,
    tool_call_format,
)
from corral.core.templates import Message, Template, TemplateValues, builtin_names

FORMATS = [
    ("tools/qwen3", "<tool_call>", "</tool_call>"),
    ("tools/qwen2.5", "<tool_call>", "</tool_call>"),
    ("tools/llama3-groq-tool-use", "<tool_call>", "</tool_call>"),
    ("tools/mistral", "[TOOL_CALLS]", None),
    ("tools/firefunction", "functools", None),
    ("tools/nemotron", "<toolcall>", "</toolcall>"),
    ("tools/command-r-plus", "Action: ```json", "```"),
    ("builtin/command-r", "Action: ```json", "```"),
    ("tools/llama3.2", None, None),
    ("tools/xlam", None, None),  # {"tool_calls": [...]} is JSON from its first character
]


@pytest.mark.parametrize(("ref", "prefix", "closing"), FORMATS, ids=[f[0] for f in FORMATS])
def test_tool_call_format(ref: str, prefix: str | None, closing: str | None) -> None:
    assert tool_call_format(load_template(ref)) == ToolCallFormat(prefix, closing)


@pytest.mark.parametrize("name", [n for n in builtin_names() if n != "command-r"])
def test_builtins_without_tool_markup_use_bare_json(name: str) -> None:
    assert tool_call_format(load_template(f"builtin/{name}")).prefix is None


def test_no_template_or_legacy_template() -> None:
    assert tool_call_format(None) == ToolCallFormat()
    legacy = Template.parse("[INST] {{ .Prompt }} [/INST] {{ .Response }}")
    assert tool_call_format(legacy) == ToolCallFormat()
    assert thinking_tags(legacy) is None


def test_template_that_fails_to_render_gives_defaults() -> None:
    broken = Template.parse("{{ range .Messages }}{{ index .ToolCalls 3 }}{{ .Thinking }}{{ end }}")
    assert tool_call_format(broken) == ToolCallFormat()
    assert thinking_tags(broken) is None


THINKING = [
    ("thinking/qwen3-think", ("<think>", "</think>")),
    ("thinking/deepseek-r1-prefilled", ("<think>", "</think>")),
    ("thinking/custom-tags", ("<|thought|>", "<|/thought|>")),
    ("thinking/history-only", ("[reasoning]", "[/reasoning]")),  # thinking shown only for older turns
    ("thinking/no-tags", None),
    ("tools/qwen3", None),
]


@pytest.mark.parametrize(("ref", "tags"), THINKING, ids=[t[0] for t in THINKING])
def test_thinking_tags(ref: str, tags: tuple[str, str] | None) -> None:
    assert thinking_tags(load_template(ref)) == tags


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_have_no_thinking_tags(name: str) -> None:
    assert thinking_tags(load_template(f"builtin/{name}")) is None


def test_thinking_tags_of_no_template() -> None:
    assert thinking_tags(None) is None


def _prompt(ref: str, think: bool) -> str:
    values = TemplateValues.with_think(think, messages=[Message("user", "hi")])
    return load_template(ref).execute(values)


def test_prompt_opens_thinking() -> None:
    assert prompt_opens_thinking(_prompt("thinking/deepseek-r1-prefilled", True), "<think>")
    assert not prompt_opens_thinking(_prompt("thinking/deepseek-r1-prefilled", False), "<think>")
    assert not prompt_opens_thinking(_prompt("thinking/qwen3-think", True), "<think>")
    assert not prompt_opens_thinking("anything", "")


def test_starts_in_thinking_from_the_template_or_an_open_prefill() -> None:
    prompt = _prompt("thinking/deepseek-r1-prefilled", True)
    assert starts_in_thinking(prompt, "<think>", "</think>")
    # The rendered prompt alone does not open a block, but the continued text does.
    assert starts_in_thinking("<|assistant|>", "<think>", "</think>", "<think>so far")
    assert not starts_in_thinking("<|assistant|>", "<think>", "</think>", "<think>done</think>answer")
    assert starts_in_thinking("x", "<think>", "</think>", "<think>a</think> then <think>b")
    assert not starts_in_thinking("x", "<think>", "</think>", "no tags at all")
