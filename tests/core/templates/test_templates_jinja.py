"""Hugging Face chat templates rendered in the Jinja sandbox, with budgets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from corral.core.errors import TemplateError
from corral.core.templates import (
    Message,
    TemplateExecError,
    TemplateLimitError,
    TemplateParseError,
    Tool,
    ToolCall,
    render_jinja,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "templates"
CHAT = [Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "How are you?")]


def test_chatml_template() -> None:
    source = (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
        " + '<|im_end|>' + '\\n'}}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    out = render_jinja(source, CHAT)
    assert out == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert not render_jinja(source, CHAT, add_generation_prompt=False).endswith("assistant\n")


def test_all_known_chat_templates_render() -> None:
    for case in json.loads((DATA / "detect_cases.json").read_text(encoding="utf-8"))["cases"]:
        out = render_jinja(case["chat_template"], CHAT, bos_token="<s>", eos_token="</s>")
        assert "How are you?" in out


def test_tools_tool_calls_and_helpers() -> None:
    tool = Tool.from_json({"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}})
    call = ToolCall.from_json({"id": "c1", "function": {"name": "get", "arguments": {"x": 1}}})
    msgs = [Message("assistant", "", tool_calls=[call]), Message("tool", "42", tool_call_id="c1")]
    source = (
        "{{ tools | tojson }}|{% for m in messages %}{% if m.tool_calls %}"
        "{{ m.tool_calls[0].function.arguments | tojson }}"
        "{% else %}{{ m.tool_call_id }}{% endif %}{% endfor %}"
        "|{{ bos_token }}{{ strftime_now('%Y') | length }}{% for i in range(3) %}{% if i == 1 %}{% break %}"
        "{% endif %}{{ i }}{% endfor %}"
    )
    out = render_jinja(source, msgs, tools=[tool], bos_token="<s>")
    assert out == (
        '[{"type": "function", "function": {"name": "get", '
        '"parameters": {"type": "object", "properties": {}}}}]'
        '|{"x": 1}c1|<s>40'
    )


def test_raise_exception_is_a_client_error() -> None:
    with pytest.raises(TemplateError) as info:
        render_jinja("{{ raise_exception('roles must alternate') }}", CHAT)
    assert info.value.status == 400 and "roles must alternate" in str(info.value)


def test_syntax_error() -> None:
    with pytest.raises(TemplateParseError):
        render_jinja("{% for %}", CHAT)


@pytest.mark.parametrize(
    "source",
    [
        "{{ messages.append(1) }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ messages[0].update({'role': 'x'}) }}",
    ],
)
def test_sandbox_blocks_unsafe_access(source: str) -> None:
    try:
        out = render_jinja(source, CHAT)
    except TemplateExecError:
        return
    assert "class" not in out and "function" not in out  # undefined attributes render as nothing


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 'a' * 100000000 }}",
        "{% set ns = namespace(x='a') %}{% for i in range(60) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}",
        "{% set ns = namespace(x='a') %}{% for i in range(60) %}"
        "{% set ns.x = [ns.x, ns.x]|join %}{% endfor %}",
        "{% set ns = namespace(x='a') %}{% for i in range(60) %}{% set ns.x = ns.x + ns.x %}{% endfor %}",
        "{{ 2 ** 100000 }}",
        "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    ],
)
def test_jinja_rendering_is_bounded(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateExecError):
        render_jinja(source, CHAT)
    assert time.monotonic() - started < 10


def test_limit_errors_are_limit_errors() -> None:
    with pytest.raises(TemplateLimitError):
        render_jinja("{{ 'a' * 100000000 }}", CHAT)
