"""Keep llama-cpp-python from compiling a GGUF's chat templates when a model loads.

``Llama.__init__`` compiles every ``tokenizer.chat_template*`` value of the file with a Jinja
sandbox whose constant folding is left on, so a hostile template such as ``{{ 'x' * 10**10 }}``
allocates gigabytes before any request is served. corral never uses the binding's chat handlers (it
renders templates itself, in ``core/templates``, with folding of large values refused), so the
binding is shown the model's metadata without them.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["hide_chat_templates"]

_TEMPLATE_KEY = "tokenizer.chat_template"


def hide_chat_templates(module: Any) -> None:
    """Filter the chat-template keys out of ``LlamaModel.metadata`` (idempotent)."""
    try:
        model_class = importlib.import_module(f"{module.__name__}._internals").LlamaModel
    except (ImportError, AttributeError):  # pragma: no cover - a binding without this layout
        return
    original = model_class.metadata
    if getattr(original, "corral_hides_chat_templates", False):
        return

    def metadata(self: Any) -> dict[str, str]:
        return {k: v for k, v in original(self).items() if not k.startswith(_TEMPLATE_KEY)}

    metadata.corral_hides_chat_templates = True  # type: ignore[attr-defined]
    model_class.metadata = metadata
