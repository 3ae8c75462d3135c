"""Choosing a built-in Go template for a GGUF chat template only when both render the same prompts.

Ollama picks the built-in template nearest by edit distance, however different its output; a template
with a default system prompt or one more space then chats in the wrong format. Here the nearest
candidates (by edit distance, Ollama's ranking) are rendered next to the Jinja source on probe
conversations, and one is taken only if every probe the Jinja template accepts renders byte for byte
the same. Otherwise the model keeps its Jinja template.
"""

from __future__ import annotations

from corral.core.errors import TemplateError
from corral.core.templates.detect import BuiltinTemplate, builtin_template, ranked_builtins
from corral.core.templates.jinja_template import JinjaTemplate
from corral.core.templates.template import Template
from corral.core.templates.types import Message, TemplateValues

__all__ = ["PROBES", "match_builtin"]

_SYSTEM = Message("system", "You are a terse assistant.")
_USER = Message("user", "Hello there")
_ASSISTANT = Message("assistant", "Hi! How can I help?")
_AGAIN = Message("user", "Tell me a joke")

PROBES: tuple[tuple[Message, ...], ...] = (
    (_USER,),
    (_SYSTEM, _USER),
    (_USER, _ASSISTANT, _AGAIN),
    (_SYSTEM, _USER, _ASSISTANT, _AGAIN),
)
"""Conversations both templates must render identically (each ends with a generation prompt)."""


def _render(template: Template | JinjaTemplate, messages: tuple[Message, ...]) -> str | None:
    try:
        return template.execute(TemplateValues(messages=messages))
    except (TemplateError, RecursionError):
        return None


def renders_like(jinja: JinjaTemplate, go: Template) -> bool:
    """Whether ``go`` renders every probe the Jinja template accepts exactly as the Jinja does.

    Probes the Jinja template refuses (``raise_exception``, e.g. "System role not supported") are left
    out; at least the plain user turn must render.
    """
    compared = 0
    for probe in PROBES:
        expected = _render(jinja, probe)
        if expected is None:
            continue
        if _render(go, probe) != expected:
            return False
        compared += 1
    return compared > 0 and _render(jinja, PROBES[0]) is not None


def match_builtin(jinja: JinjaTemplate) -> BuiltinTemplate | None:
    """The built-in template that renders like the GGUF's chat template, or None to keep the Jinja."""
    for name in ranked_builtins(jinja.source):
        builtin = builtin_template(name)
        if renders_like(jinja, Template.parse(builtin.template)):
            return builtin
    return None
