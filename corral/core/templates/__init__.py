"""Prompt templates: Ollama's Go text/template dialect, prompt assembly, built-ins and sandboxed Jinja.

Typical use::

    tmpl = Template.parse(model_template_text)          # TemplateParseError (400) on bad syntax
    result = build_chat_prompt(tmpl, messages, tools=tools, system=model_system,
                               num_ctx=2048, tokenize=runner.tokenize)
    result.prompt, result.images

    match = detect_template(gguf_chat_template)         # BuiltinTemplate | None
"""

from corral.core.templates.detect import (
    BuiltinTemplate,
    builtin_names,
    builtin_template,
    detect_template,
    levenshtein,
)
from corral.core.templates.errors import TemplateExecError, TemplateLimitError, TemplateParseError
from corral.core.templates.jinja import render_jinja
from corral.core.templates.prompt import (
    IMAGE_TOKENS,
    ChatPrompt,
    Tokenizer,
    build_chat_prompt,
    build_generate_prompt,
    chat_messages,
    count_tokens,
)
from corral.core.templates.template import DEFAULT_TEMPLATE, Template, collate
from corral.core.templates.types import (
    Message,
    TemplateValues,
    Think,
    Tool,
    ToolCall,
    ToolCallFunction,
    ToolFunction,
    ToolParameters,
    ToolProperty,
    think_flags,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "IMAGE_TOKENS",
    "BuiltinTemplate",
    "ChatPrompt",
    "Message",
    "Template",
    "TemplateExecError",
    "TemplateLimitError",
    "TemplateParseError",
    "TemplateValues",
    "Think",
    "Tokenizer",
    "Tool",
    "ToolCall",
    "ToolCallFunction",
    "ToolFunction",
    "ToolParameters",
    "ToolProperty",
    "build_chat_prompt",
    "build_generate_prompt",
    "builtin_names",
    "builtin_template",
    "chat_messages",
    "collate",
    "count_tokens",
    "detect_template",
    "levenshtein",
    "render_jinja",
    "think_flags",
]
