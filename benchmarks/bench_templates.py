"""How long prompt rendering takes: built-in chat templates, a tool-calling template, parsing, detection.

Run with ``python benchmarks/bench_templates.py``. Prints the median time per operation; the goal is
that rendering a typical chat stays well under 1 ms. This is a measurement, not a test.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable

from corral.core.templates import (
    Message,
    Template,
    Tool,
    ToolCall,
    build_chat_prompt,
    builtin_template,
    detect_template,
)

CHAT = [
    Message("system", "You are a helpful assistant."),
    Message("user", "Hello, how are you?"),
    Message("assistant", "I'm doing great. How can I help you today?"),
    Message("user", "I'd like to show off how chat templating works!"),
]

TOOL = Tool.from_json(
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and state"},
                    "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location", "format"],
            },
        },
    }
)
CALL = ToolCall.from_json({"function": {"name": "get_current_weather", "arguments": {"location": "Paris"}}})
TOOL_CHAT = [
    *CHAT[:2],
    Message("assistant", "", tool_calls=[CALL]),
    Message("tool", "22"),
    Message("user", "And in Toronto?"),
]

QWEN_TOOLS = """{{- if .Messages }}{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- end }}
{{- if .Tools }}

# Tools
<tools>
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}
</tools>
{{- end }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if .Content }}{{ .Content }}
{{- else if .ToolCalls }}<tool_call>
{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}
{{ end }}</tool_call>
{{- end }}{{ if not $last }}<|im_end|>
{{ end }}
{{- else if eq .Role "tool" }}<|im_start|>user
<tool_response>
{{ .Content }}
</tool_response><|im_end|>
{{ end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}
{{- else }}{{ .Prompt }}{{ end }}"""


def median_seconds(fn: Callable[[], object], repeat: int = 7, number: int = 200) -> float:
    """Median over ``repeat`` runs of the mean time of ``number`` calls."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def report(label: str, seconds: float) -> None:
    print(f"{label:<48} {seconds * 1e6:9.1f} µs")


def main() -> None:
    for name in ("chatml", "llama3-instruct", "gemma3-instruct", "mistral-instruct", "command-r"):
        template = Template.parse(builtin_template(name).template)
        report(
            f"chat, 4 messages, {name}", median_seconds(functools.partial(build_chat_prompt, template, CHAT))
        )
    qwen = Template.parse(QWEN_TOOLS)
    report(
        "chat with tools and a tool call, qwen2.5-style",
        median_seconds(lambda: build_chat_prompt(qwen, TOOL_CHAT, tools=[TOOL])),
    )
    legacy = Template.parse(
        "{{ if .System }}{{ .System }} {{ end }}[INST] {{ .Prompt }} [/INST] {{ .Response }}"
    )
    report(
        "chat, 4 messages, legacy .Prompt/.Response", median_seconds(lambda: build_chat_prompt(legacy, CHAT))
    )

    def truncated() -> object:
        return build_chat_prompt(legacy, CHAT * 4, num_ctx=40, tokenize=lambda s: len(s.split()))

    report("chat, 16 messages, truncated to num_ctx=40", median_seconds(truncated, number=50))
    source = builtin_template("command-r").template
    report("parse command-r template", median_seconds(lambda: Template.parse(source), number=50))
    chat_template = (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
        " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
        "{% endif %}"
    )
    report(
        "detect built-in template for a chat_template",
        median_seconds(lambda: detect_template(chat_template), number=20),
    )


if __name__ == "__main__":
    main()
