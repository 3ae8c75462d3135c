"""Constrained decoding for backends that compute their own logits (cpu-ref, onnx), with llguidance.

``format: "json"``, a JSON schema (also how forced tool calls arrive) or GBNF text becomes an
llguidance matcher over corral's GGUF tokenizer. Before each pick the matcher's token mask sets the
logits of tokens that would break the grammar to -inf; the picked token is then consumed. Once the
grammar is complete only the end-of-generation tokens remain, so the output ends there.

Why llguidance (measured on Gemma 3 270M's 262k-token vocabulary, see docs/backends.md): a schema
compiles in about a millisecond and a mask costs ~0.4 ms per token, where outlines-core spends
seconds building its index for every schema and ~3 ms per token returning a Python list; xgrammar
needs torch, transformers and triton, far too heavy for an optional CPU extra.
"""

from __future__ import annotations

import importlib
import json
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corral.core.engine import GenerateParams
from corral.core.errors import BadRequest
from corral.core.tokenizer import GGUFTokenizer

__all__ = ["INSTALL_HINT", "OutputConstraint", "output_constraint"]

INSTALL_HINT = "pip install 'corral[structured]'"

_JSON_OBJECT: Mapping[str, Any] = {"type": "object"}
# The whitespace llama.cpp's JSON-schema grammars allow between tokens (its ``space`` rule: nothing,
# a space, or one or two newlines and up to 20 indents), so every backend constrains alike and a weak
# model cannot fill the answer with whitespace.
_WHITESPACE = {"whitespace_pattern": r"(?: |\n{1,2}[ \t]{0,20})?"}

_tokenizers: weakref.WeakKeyDictionary[GGUFTokenizer, Any] = weakref.WeakKeyDictionary()
_tokenizers_lock = threading.Lock()


def _llguidance(backend: str) -> Any:
    try:
        return importlib.import_module("llguidance")
    except ImportError:
        raise BadRequest(
            f"structured output (format, JSON schema, forced tool calls) on the {backend} backend "
            f"needs llguidance: install it with {INSTALL_HINT}"
        ) from None


class _TokenizerView:
    """What ``llguidance.TokenizerWrapper`` reads: token bytes (control tokens marked with a 0xFF
    prefix, as llguidance expects), BOS/EOS ids and a tokenize call for grammar literals."""

    def __init__(self, tok: GGUFTokenizer) -> None:
        self._tok = tok
        self.eos_token_id = tok.eos_id if tok.eos_id is not None else min(tok.eog_ids, default=0)
        self.bos_token_id = tok.bos_id
        self.tokens = [
            b"\xff" + tok.piece(i) if tok.is_control(i) else tok.piece(i) for i in range(tok.vocab_size)
        ]
        self.special_token_ids = [i for i in range(tok.vocab_size) if tok.is_control(i)]

    def __call__(self, text: bytes | str) -> list[int]:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        # Grammar literals continue the output: no SentencePiece space in front of them.
        return self._tok.encode(raw, add_special=False, parse_special=False, space_prefix=False)


def _lltokenizer(llg: Any, tok: GGUFTokenizer) -> Any:
    # Building one reads every token (about 2 s for 262k tokens): once per loaded tokenizer.
    with _tokenizers_lock:
        found = _tokenizers.get(tok)
        if found is None:
            wrapper = llg.TokenizerWrapper(_TokenizerView(tok))
            found = llg.LLTokenizer(wrapper, eos_token=sorted(tok.eog_ids) or None)
            _tokenizers[tok] = found
        return found


def _grammar(llg: Any, params: GenerateParams) -> str:
    if params.grammar is not None:
        try:
            return str(llg.grammar_from("gbnf", params.grammar))
        except ValueError as exc:
            raise BadRequest(f"invalid grammar: {exc}") from None
    schema = dict(params.json_schema if params.json_schema is not None else _JSON_OBJECT)
    schema.setdefault("x-guidance", _WHITESPACE)
    try:
        return str(llg.LLMatcher.grammar_from_json_schema(json.dumps(schema)))
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"invalid JSON schema in format: {exc}") from None


class OutputConstraint:
    """One generation's grammar state: :meth:`mask` the logits, then :meth:`consume` the pick."""

    def __init__(self, matcher: Any, vocab_size: int) -> None:
        self._matcher = matcher
        self._bitmask = np.full((1, (vocab_size + 31) // 32), -1, dtype=np.int32)
        self._vocab_size = vocab_size

    def mask(self, logits: NDArray[np.float32]) -> NDArray[np.float32]:
        """A copy of ``logits`` with every token the grammar forbids here set to -inf."""
        self._matcher.unsafe_compute_mask_ptr(self._bitmask.ctypes.data, self._bitmask.nbytes)
        allowed = np.unpackbits(self._bitmask[0].view(np.uint8), bitorder="little").astype(bool)
        x = np.asarray(logits, dtype=np.float32).reshape(-1)
        keep = np.zeros(x.shape[0], dtype=bool)
        n = min(x.shape[0], self._vocab_size)
        keep[:n] = allowed[:n]
        if not keep.any():
            raise BadRequest("the output format allows no token at this point of the output")
        return np.where(keep, x, np.float32(-np.inf)).astype(np.float32)

    def consume(self, token: int) -> None:
        """Advance the grammar past the picked token."""
        if not self._matcher.consume_token(int(token)):
            raise BadRequest(f"the output format rejected token {token}: {self._matcher.get_error()}")


def output_constraint(params: GenerateParams, tok: GGUFTokenizer, backend: str) -> OutputConstraint | None:
    """The constraint ``params`` asks for (None when it asks for none); 400 for a bad schema or
    grammar, or naming the extra when llguidance is not installed. Call before generating."""
    if params.grammar is None and params.json_schema is None and not params.json_mode:
        return None
    llg = _llguidance(backend)
    grammar = _grammar(llg, params)
    matcher = llg.LLMatcher(_lltokenizer(llg, tok), grammar)
    if matcher.is_error():
        raise BadRequest(f"invalid output format: {matcher.get_error()}")
    return OutputConstraint(matcher, tok.vocab_size)
