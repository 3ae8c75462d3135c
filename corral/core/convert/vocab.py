"""A WordPiece vocabulary from ``tokenizer.json``, in the form llama.cpp's ``bert`` (WPM) tokenizer reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf

from corral.core.errors import BadRequest

__all__ = ["WordPieceVocab", "read_wordpiece"]

_PHANTOM_SPACE = "\u2581"


@dataclass
class WordPieceVocab:
    """Tokens (with llama.cpp's ``▁`` word-start / ``##``-stripped continuation convention) and types."""

    tokens: list[str]
    types: list[int]
    special: dict[str, int] = field(default_factory=dict)
    """``bos``/``eos``/``unk``/``sep``/``pad``/``cls``/``mask`` → token id."""


def _phantom(token: str, kind: int) -> str:
    """llama.cpp's conversion: control tokens as they are, ``##x`` → ``x``, others ``▁x``."""
    if kind == gguf.TokenType.CONTROL:
        return token
    if token.startswith("##"):
        return token[2:]
    return _PHANTOM_SPACE + token


def _special_ids(data: dict[str, Any], vocab: dict[str, int]) -> dict[str, int]:
    """Special tokens by role, from the post-processor template and the conventional names."""
    names = {"unk": "[UNK]", "sep": "[SEP]", "pad": "[PAD]", "cls": "[CLS]", "mask": "[MASK]"}
    unk = (data.get("model") or {}).get("unk_token")
    if isinstance(unk, str):
        names["unk"] = unk
    out = {role: vocab[name] for role, name in names.items() if name in vocab}
    if "cls" in out:
        out["bos"] = out["cls"]
    if "sep" in out:
        out["eos"] = out["sep"]
    return out


def read_wordpiece(path: Path, n_vocab: int) -> WordPieceVocab:
    """Read a Hugging Face ``tokenizer.json`` with a ``WordPiece`` model.

    Ids with no token become ``[PAD<id>]`` (unused), as llama.cpp's converter writes them, so the
    list is exactly ``n_vocab`` long (the embedding matrix's row count).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"tokenizer.json could not be read: {exc}") from None
    model = data.get("model") or {}
    if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        raise BadRequest(
            f"unsupported tokenizer {model.get('type')!r}: only WordPiece (BERT) can be converted"
        )
    vocab: dict[str, int] = {str(k): int(v) for k, v in model["vocab"].items()}
    added = {str(t["content"]): bool(t.get("special")) for t in data.get("added_tokens") or []}
    for t in data.get("added_tokens") or []:
        vocab.setdefault(str(t["content"]), int(t["id"]))
    by_id = {i: tok for tok, i in vocab.items()}
    if max(by_id, default=-1) >= n_vocab:
        raise BadRequest(f"tokenizer.json has ids beyond the model's {n_vocab} embeddings")
    tokens: list[str] = []
    types: list[int] = []
    for i in range(n_vocab):
        tok = by_id.get(i)
        if tok is None:
            tokens.append(f"[PAD{i}]")
            types.append(int(gguf.TokenType.UNUSED))
            continue
        if tok in added:
            kind = gguf.TokenType.CONTROL if added[tok] else gguf.TokenType.USER_DEFINED
        else:
            kind = gguf.TokenType.NORMAL
        tokens.append(_phantom(tok, kind))
        types.append(int(kind))
    return WordPieceVocab(tokens, types, _special_ids(data, vocab))
