"""Converting Hugging Face model directories (safetensors + tokenizer.json) to GGUF.

Only the BERT architecture is supported, which covers sentence-embedding models such as
all-MiniLM-L6-v2. :func:`convert_model_dir` is the entry point; :func:`is_hf_model_dir` tells
whether a set of file names looks like such a directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from corral.core.convert.bert import convert_bert
from corral.core.convert.to_store import convert_into_store

__all__ = ["convert_into_store", "convert_model_dir", "is_hf_model_dir"]


def is_hf_model_dir(names: Iterable[str]) -> bool:
    """True for file names with safetensors weights, a ``config.json`` and a ``tokenizer.json``."""
    names = set(names)
    return (
        any(n.endswith(".safetensors") for n in names)
        and "config.json" in names
        and "tokenizer.json" in names
    )


def convert_model_dir(
    model_dir: Path, out: Path, *, f16: bool = True, progress: Callable[[str], None] = lambda s: None
) -> None:
    """Convert the model in ``model_dir`` to the GGUF file ``out`` (BadRequest if it cannot)."""
    convert_bert(model_dir, out, f16=f16, progress=progress)
