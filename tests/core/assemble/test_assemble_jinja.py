"""Tool-call and thinking markup inferred from a GGUF Jinja template, exactly as from a Go template."""

from __future__ import annotations

from assemble_support import run_tool_parser, split

from corral.core.assemble import ToolCallFormat, ToolCallParser, thinking_tags, tool_call_format
from corral.core.templates import Tool
from corral.core.templates.jinja_template import JinjaTemplate

# Qwen2.5-style: tools listed in the system turn, calls as <tool_call> JSON, reasoning in <think>.
QWEN_LIKE = JinjaTemplate(
    "{%- if tools %}<|im_start|>system\nYou may call tools.\n<tools>"
    "{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}\n</tools><|im_end|>\n{% endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' and message.tool_calls %}<|im_start|>assistant"
    "{%- for call in message.tool_calls %}\n<tool_call>\n"
    '{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}'
    "\n</tool_call>{%- endfor %}<|im_end|>\n"
    "{% else %}<|im_start|>{{ message.role }}\n"
    "{% if message.reasoning_content %}<think>\n{{ message.reasoning_content }}\n</think>\n{% endif %}"
    "{{ message.content }}<|im_end|>\n{% endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WEATHER = Tool.from_json({"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}})  # fmt: skip


def test_markup_is_inferred_from_the_jinja_rendering() -> None:
    assert tool_call_format(QWEN_LIKE) == ToolCallFormat("<tool_call>", "</tool_call>")
    assert thinking_tags(QWEN_LIKE) == ("<think>", "</think>")
    assert QWEN_LIKE.uses("Tools") and QWEN_LIKE.uses("Thinking") and not QWEN_LIKE.uses("Suffix")


def test_streamed_calls_are_parsed_with_the_inferred_markup() -> None:
    text = 'Let me check.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    for seed in range(5):
        content, calls = run_tool_parser(ToolCallParser(QWEN_LIKE, [WEATHER]), split(text, seed))
        assert content == "Let me check."
        assert calls == [(0, "get_weather", [("city", "Paris")])]
