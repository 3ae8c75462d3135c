"""Prompt assembly: system and MESSAGE layers, truncation to num_ctx, images, thinking, generate."""

from __future__ import annotations

import pytest

from corral.core.errors import BadRequest
from corral.core.templates import (
    Message,
    Template,
    TemplateParseError,
    TemplateValues,
    Tool,
    ToolCall,
    build_chat_prompt,
    build_generate_prompt,
    chat_messages,
    collate,
    think_flags,
)

ROLES = Template.parse("{{ range .Messages }}{{ .Role }}:{{ .Content }}\n{{ end }}")
LEGACY = Template.parse(
    "{{ if .System }}S:{{ .System }} {{ end }}{{ if .Prompt }}U:{{ .Prompt }} {{ end }}A:"
)


def words(text: str) -> list[int]:
    return [0] * len(text.split())


def test_model_system_is_prepended_unless_the_request_brings_one() -> None:
    layers = [Message("user", "example q"), Message("assistant", "example a")]
    msgs = chat_messages([Message("user", "hi")], system="SYS", model_messages=layers)
    assert [(m.role, m.content) for m in msgs] == [
        ("system", "SYS"),
        ("user", "example q"),
        ("assistant", "example a"),
        ("user", "hi"),
    ]
    own = chat_messages([Message("system", "mine"), Message("user", "hi")], system="SYS")
    assert [m.content for m in own] == ["mine", "hi"]


def test_collate_merges_same_role_but_not_tool_messages() -> None:
    system, merged = collate(
        [
            Message("system", "a"),
            Message("system", "b"),
            Message("user", "1"),
            Message("user", "2"),
            Message("tool", "x"),
            Message("tool", "y"),
        ]
    )
    assert system == "a\n\nb"
    assert [(m.role, m.content) for m in merged] == [
        ("system", "a\n\nb"),
        ("user", "1\n\n2"),
        ("tool", "x"),
        ("tool", "y"),
    ]


def test_truncation_keeps_the_last_message_and_re_adds_system_messages() -> None:
    msgs = [
        Message("system", "be brief"),
        Message("user", "one two three four five"),
        Message("assistant", "six seven eight nine ten"),
        Message("user", "last question"),
    ]
    full = build_chat_prompt(ROLES, msgs, num_ctx=100, tokenize=words).prompt
    assert full.count("\n") == 4
    cut = build_chat_prompt(ROLES, msgs, num_ctx=9, tokenize=words).prompt
    assert cut == "system:be brief\nassistant:six seven eight nine ten\nuser:last question\n"
    tiny = build_chat_prompt(ROLES, msgs, num_ctx=1, tokenize=words).prompt
    assert tiny == "system:be brief\nuser:last question\n"
    untouched = build_chat_prompt(ROLES, msgs, num_ctx=1, tokenize=words, truncate=False).prompt
    assert untouched == full
    assert build_chat_prompt(ROLES, msgs, num_ctx=1).prompt == full  # no tokenizer, no truncation


def test_tokenizer_may_return_a_count() -> None:
    msgs = [Message("user", "a b c d"), Message("user", "e")]
    ids = build_chat_prompt(ROLES, msgs, num_ctx=2, tokenize=words).prompt
    count = build_chat_prompt(ROLES, msgs, num_ctx=2, tokenize=lambda s: len(s.split())).prompt
    assert ids == count == "user:e\n"


def test_truncation_never_orphans_tool_results() -> None:
    call = ToolCall.from_json({"function": {"name": "f", "arguments": {}}})
    msgs = [
        Message("user", "please call the tool now"),
        Message("assistant", "calling it with many words here", tool_calls=[call]),
        Message("tool", "result one"),
        Message("tool", "result two"),
        Message("user", "thanks"),
    ]
    # [tool, tool, user] alone would fit in 6 tokens, but a window may not start at a tool result:
    # it is widened to the assistant turn that made the call, which does not fit, so only the
    # last message is kept.
    assert build_chat_prompt(ROLES, msgs, num_ctx=6, tokenize=words).prompt == "user:thanks\n"
    widened = build_chat_prompt(ROLES, msgs, num_ctx=11, tokenize=words).prompt
    assert widened.startswith("assistant:calling it") and "user:please" not in widened


def test_images_are_tagged_only_in_kept_messages() -> None:
    msgs = [
        Message("user", "old", images=[b"a"]),
        Message("assistant", "ok"),
        Message("user", "look [img] and", images=[b"b", b"c"]),
    ]
    kept = build_chat_prompt(ROLES, msgs, num_ctx=1000, tokenize=words, has_projector=True)
    assert kept.images == [b"b", b"c"]
    assert kept.prompt == "user:[img-1]look [img-0] and\n"
    everything = build_chat_prompt(ROLES, msgs, num_ctx=5000, tokenize=words, has_projector=True)
    assert everything.images == [b"a", b"b", b"c"]
    assert "user:[img-0]old" in everything.prompt and "user:[img-2]look [img-1] and" in everything.prompt
    # Without a projector images cost nothing, so everything fits.
    assert build_chat_prompt(ROLES, msgs, num_ctx=1000, tokenize=words).images == [b"a", b"b", b"c"]


@pytest.mark.parametrize(
    ("think", "expected"),
    [(None, "false||false"), (True, "true|medium|true"), (False, "false||true"), ("high", "true|high|true")],
)
def test_think_flags_reach_templates(think: bool | str | None, expected: str) -> None:
    t = Template.parse("{{ range .Messages }}{{ end }}{{ .Think }}|{{ .ThinkLevel }}|{{ .IsThinkSet }}")
    assert build_chat_prompt(t, [Message("user", "x")], think=think).prompt == expected
    legacy = Template.parse("{{ .Prompt }}{{ .Think }}|{{ .ThinkLevel }}|{{ .IsThinkSet }}{{ .Response }}")
    assert build_generate_prompt(legacy, "", think=think) == expected
    assert think_flags(think)[0] == expected.startswith("true")


def test_tools_reach_message_templates() -> None:
    t = Template.parse(
        "{{ range .Messages }}{{ end }}{{ range .Tools }}{{ .Function.Name }};{{ end }}{{ .Tools }}"
    )
    tool = Tool.from_json({"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}})
    with_tools = build_chat_prompt(t, [Message("user", "x")], tools=[tool]).prompt
    expected = (
        'get;[{"type":"function","function":{"name":"get","parameters":{"type":"object","properties":null}}}]'
    )
    assert with_tools == expected
    assert build_chat_prompt(t, [Message("user", "x")]).prompt == "null"


def test_legacy_template_cuts_after_response_on_the_last_turn() -> None:
    t = Template.parse("<s>{{ .Prompt }}</s>{{ .Response }}<end>\n")
    msgs = [Message("user", "q1"), Message("assistant", "a1"), Message("user", "q2")]
    assert build_chat_prompt(t, msgs).prompt == "<s>q1</s>a1<end>\n<s>q2</s>"


def test_legacy_prefill_continues_the_assistant_turn() -> None:
    msgs = [Message("user", "q"), Message("assistant", "partial")]
    # LEGACY never names .Response, so one is appended: the last turn ends with the partial answer.
    assert build_chat_prompt(LEGACY, msgs).prompt == "U:q A:partial"
    t = Template.parse("[{{ .Prompt }}] {{ .Response }}</s>")
    assert build_chat_prompt(t, msgs).prompt == "[q] partial"


def test_generate_system_context_images_and_layers() -> None:
    layers = [Message("user", "ex q"), Message("assistant", "ex a")]
    out = build_generate_prompt(LEGACY, "hi", model_system="MODEL", model_messages=layers)
    assert out == "S:MODEL U:ex q A:ex aU:hi A:"
    assert build_generate_prompt(LEGACY, "hi", system="REQ", model_system="MODEL") == "S:REQ U:hi A:"
    with_context = build_generate_prompt(LEGACY, "hi", model_messages=layers, context="earlier text ")
    assert with_context == "earlier text U:hi A:"
    images = build_generate_prompt(ROLES, "describe", images=[b"1", b"2"])
    assert images == "user:[img-0]\n\n[img-1]\n\ndescribe\n"


def test_generate_suffix_raw_and_request_template() -> None:
    fim = Template.parse(
        "{{ if .Suffix }}<PRE>{{ .Prompt }}<SUF>{{ .Suffix }}<MID>{{ else }}{{ .Prompt }}{{ end }}"
    )
    assert build_generate_prompt(fim, "a", suffix="b", system="ignored") == "<PRE>a<SUF>b<MID>"
    assert build_generate_prompt(fim, "a") == "a"
    assert build_generate_prompt(fim, "{{ raw }}", raw=True) == "{{ raw }}"
    for kwargs in ({"system": "s"}, {"request_template": "{{ .Prompt }}"}, {"context": ""}):
        with pytest.raises(BadRequest, match="raw mode does not support template, system, or context"):
            build_generate_prompt(fim, "a", raw=True, **kwargs)  # type: ignore[arg-type]
    assert build_generate_prompt(fim, "a", request_template="## {{ .Prompt }}") == "## a"
    assert build_generate_prompt(None, "plain") == "plain"
    with pytest.raises(TemplateParseError):
        build_generate_prompt(fim, "a", request_template="{{ .Prompt ")


def test_values_with_think_helper() -> None:
    values = TemplateValues.with_think("low", prompt="p")
    assert (values.think, values.think_level, values.is_think_set, values.prompt) == (True, "low", True, "p")
