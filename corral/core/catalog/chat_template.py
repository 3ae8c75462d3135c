"""Which template a stored model renders with: its template layer (Go), else its GGUF's Jinja template."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from corral.core.errors import CorralError
from corral.core.gguf import read_model_file
from corral.core.store import LocalModel
from corral.core.templates import Template
from corral.core.templates.jinja_template import ChatTemplate, JinjaTemplate
from corral.core.tokenizer._vocab import UnsupportedTokenizer, load_vocab

__all__ = ["gguf_jinja_template", "load_template", "parse_go_template"]

log = logging.getLogger("corral.catalog")


@functools.lru_cache(maxsize=64)
def parse_go_template(text: str) -> Template:
    """Parse a template layer once: parsed templates are immutable and shared between requests."""
    return Template.parse(text)


@functools.lru_cache(maxsize=32)
def _gguf_jinja(path: str) -> JinjaTemplate | None:
    # Blobs are content-addressed and never rewritten, so the path identifies the content. The token
    # list is read once here for the BOS/EOS texts; only the small JinjaTemplate is kept.
    info = read_model_file(Path(path), keep_arrays=True)
    source = info.chat_template  # never set for a legacy GGML file
    if not source:
        return None
    try:
        vocab = load_vocab(info.metadata)
    except UnsupportedTokenizer:
        return JinjaTemplate(source)

    def text(kind: str) -> str:
        token = vocab.special.get(kind)
        return vocab.piece(token).decode("utf-8", "replace") if token is not None else ""

    return JinjaTemplate(source, text("bos"), text("eos"), vocab.add_bos, vocab.add_eos)


def gguf_jinja_template(path: Path) -> JinjaTemplate | None:
    """The GGUF's ``tokenizer.chat_template`` with its BOS/EOS texts, or None when it has none."""
    return _gguf_jinja(str(path))


def load_template(local: LocalModel) -> ChatTemplate | None:
    """The model's template layer if it has one, else the Jinja chat template of its GGUF.

    A broken stored template is logged and treated as absent, never fatal.
    """
    if local.template is not None:
        try:
            return parse_go_template(local.template)
        except CorralError as exc:
            log.warning("model %s has an unparsable template: %s", local.name, exc)
            return None
    if local.model_path is None:
        return None
    try:
        return gguf_jinja_template(local.model_path)
    except (CorralError, OSError) as exc:
        log.warning("model %s: cannot read the GGUF chat template: %s", local.name, exc)
        return None
