"""A GGUF's own Jinja chat template, usable wherever a Go ``Template`` is (same ``execute``/``uses``).

The variables follow llama.cpp's server: ``messages``, ``tools`` (only when given),
``add_generation_prompt``, ``bos_token``/``eos_token``, ``raise_exception``, ``strftime_now``, and
``enable_thinking``/``reasoning_effort`` when the request sets ``think``. Like llama.cpp, a BOS the
template writes is dropped when the tokenizer adds one itself (and an EOS when it appends one), so the
model never sees it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from corral.core.errors import TemplateError
from corral.core.templates.jinja import render_jinja, template_variables
from corral.core.templates.types import TemplateValues

__all__ = ["ChatTemplate", "JinjaTemplate", "TemplateKind", "template_kind"]

TemplateKind = Literal["go", "jinja"]

_THINK_LEVELS = ("low", "medium", "high")


class ChatTemplate(Protocol):
    """What prompt building and output parsing need from a model's template, Go or Jinja."""

    @property
    def text(self) -> str:
        """The template source."""
        ...

    def uses(self, name: str) -> bool:
        """Whether the template reads ``name`` under Ollama's Go names ("Tools", "Thinking", ...)."""
        ...

    def execute(self, values: TemplateValues) -> str:
        """Render the prompt for ``values``."""
        ...

    def __hash__(self) -> int:
        """Templates are immutable; the output-parsing inference caches key on them."""
        ...


def template_kind(template: ChatTemplate | None) -> TemplateKind | None:
    """``"jinja"`` for a GGUF chat template, ``"go"`` for an Ollama template, None for none."""
    if template is None:
        return None
    return "jinja" if isinstance(template, JinjaTemplate) else "go"


@dataclass(frozen=True, slots=True)
class JinjaTemplate:
    """A Hugging Face chat template with the model's special-token texts; rendered in the sandbox.

    Frozen and hashable, so the tool-call and thinking inference caches key on it like on a Go
    ``Template``.
    """

    source: str
    bos_token: str = ""
    eos_token: str = ""
    add_bos: bool = False
    add_eos: bool = False

    @property
    def text(self) -> str:
        """The Jinja source as stored in the GGUF."""
        return self.source

    def uses(self, name: str) -> bool:
        """Map Ollama's template feature names onto what the Jinja source reads."""
        key = name.lower().lstrip(".")
        names = template_variables(self.source)
        if key == "messages":
            return "messages" in names
        if key == "tools":
            return "tools" in names
        if key == "thinking":
            return re.search(r"\breasoning_content\b", self.source) is not None
        if key == "think":
            return "enable_thinking" in names
        if key == "thinklevel":
            return "reasoning_effort" in names
        return False  # no .Suffix (fill-in-middle), .Prompt, .System, .Response in a chat template

    def execute(self, values: TemplateValues) -> str:
        """Render ``values.messages``; a trailing assistant message is continued, not closed."""
        if values.suffix:
            raise TemplateError("this model's chat template does not support suffix")
        messages = list(values.messages)
        extra: dict[str, Any] = {}
        if values.is_think_set:
            extra["enable_thinking"] = values.think
            if values.think_level in _THINK_LEVELS:
                extra["reasoning_effort"] = values.think_level
        out = render_jinja(
            self.source,
            messages,
            tools=list(values.tools) if values.tools else None,
            add_generation_prompt=not messages or messages[-1].role != "assistant",
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            extra=extra,
        )
        if self.add_bos and self.bos_token and out.startswith(self.bos_token):
            out = out[len(self.bos_token) :]
        if self.add_eos and self.eos_token and out.endswith(self.eos_token):
            out = out[: -len(self.eos_token)]
        return out
