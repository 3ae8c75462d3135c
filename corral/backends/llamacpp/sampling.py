"""Token selection for llama.cpp: Ollama's sampling options as a llama.cpp sampler chain, and logprobs."""

from __future__ import annotations

import ctypes
import random
from collections.abc import Mapping
from typing import Any

import numpy as np

from corral.backends.llamacpp.logit_bias import logit_bias_sampler
from corral.core.engine import SamplingOptions
from corral.core.errors import BadRequest

__all__ = ["SamplerChain", "sampler_seed"]

_UINT32 = 0xFFFFFFFF
_RANDOM_SEED = 0xFFFFFFFF
"""``LLAMA_DEFAULT_SEED``: llama.cpp draws a random seed."""


def sampler_seed(seed: int) -> int:
    """Ollama's seed as llama.cpp's 32-bit sampler seed; a negative seed means a random one."""
    if seed < 0:
        return random.randrange(_UINT32)
    return seed & _UINT32 if seed & _UINT32 != _RANDOM_SEED else _RANDOM_SEED - 1


class SamplerChain:
    """A llama.cpp sampler chain in Ollama's order, owned by one generation.

    logit_bias → penalties → top_k → typical_p → top_p → min_p → temperature → draw with ``seed``, or greedy
    when ``temperature`` is 0. The chain remembers the tokens it picked (for the repetition
    penalties), so a new chain is built for every generation.

    A grammar is kept out of the chain: checking every vocabulary entry against it costs more
    than a decode step on a large vocabulary (Gemma's 262k tokens). As llama.cpp's own tools do,
    the chain picks a token first; only if the grammar rejects it is the grammar applied to the
    whole vocabulary and the pick redone.
    """

    def __init__(
        self,
        lib: Any,
        vocab: Any,
        n_vocab: int,
        options: SamplingOptions,
        *,
        penalty_last_n: int,
        grammar: str | None = None,
        logit_bias: Mapping[int, float] | None = None,
    ) -> None:
        self._lib = lib
        self._n_vocab = n_vocab
        self._grammar: Any = None
        self._chain: Any = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        try:
            if logit_bias:
                self._add(logit_bias_sampler(lib, n_vocab, logit_bias))
            self._build(n_vocab, options, penalty_last_n)
            if grammar is not None:
                # The text was test-compiled by GrammarCache, so NULL here means out of memory.
                self._grammar = _checked(
                    lib.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
                )
                self._candidates = np.zeros(n_vocab, dtype=_TOKEN_DATA)
                self._ids = np.arange(n_vocab, dtype=np.int32)
        except BaseException:
            self.close()
            raise

    def _build(self, n_vocab: int, o: SamplingOptions, penalty_last_n: int) -> None:
        lib = self._lib
        if penalty_last_n != 0 and (
            o.repeat_penalty != 1.0 or o.frequency_penalty != 0.0 or o.presence_penalty != 0.0
        ):
            self._add(
                lib.llama_sampler_init_penalties(
                    n_vocab, penalty_last_n, o.repeat_penalty, o.frequency_penalty, o.presence_penalty
                )
            )
        if o.temperature <= 0.0:
            self._add(lib.llama_sampler_init_greedy())
            return
        self._add(lib.llama_sampler_init_top_k(o.top_k))
        self._add(lib.llama_sampler_init_typical(o.typical_p, 1))
        self._add(lib.llama_sampler_init_top_p(o.top_p, 1))
        self._add(lib.llama_sampler_init_min_p(o.min_p, 1))
        self._add(lib.llama_sampler_init_temp(o.temperature))
        self._add(lib.llama_sampler_init_dist(sampler_seed(o.seed)))

    def _add(self, sampler: Any) -> None:
        self._lib.llama_sampler_chain_add(self._chain, _checked(sampler))

    def sample(self, ctx: Any, index: int = -1) -> int:
        """Pick (and remember) the next token from the logits of output ``index`` of the last
        batch (-1: its last output)."""
        lib = self._lib
        if self._grammar is None:
            token: int = lib.llama_sampler_sample(self._chain, ctx, index)
            return token
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx, index), shape=(self._n_vocab,))
        token = self._pick(logits, with_grammar=False)
        if not self._grammar_allows(token):
            token = self._pick(logits, with_grammar=True)
        lib.llama_sampler_accept(self._grammar, token)
        lib.llama_sampler_accept(self._chain, token)
        return token

    def _pick(self, logits: np.ndarray[Any, np.dtype[np.float32]], *, with_grammar: bool) -> int:
        lib = self._lib
        candidates = self._candidates
        candidates["id"] = self._ids
        candidates["logit"] = logits
        candidates["p"] = 0.0
        data = candidates.ctypes.data_as(ctypes.POINTER(lib.llama_token_data))
        array = lib.llama_token_data_array(data, self._n_vocab, -1, False)
        if with_grammar:
            lib.llama_sampler_apply(self._grammar, ctypes.byref(array))
        lib.llama_sampler_apply(self._chain, ctypes.byref(array))
        if array.selected < 0:
            raise RuntimeError("llama.cpp's sampler chain selected no token")
        picked = array.data[array.selected]
        if with_grammar and not np.isfinite(picked.logit):
            # Every token was ruled out (a grammar that can only match NUL, say). Accepting the
            # pick anyway would make llama.cpp throw, and a C++ exception aborts the process.
            raise BadRequest("the grammar allows no token at this point of the output")
        token: int = picked.id
        return token

    def _grammar_allows(self, token: int) -> bool:
        lib = self._lib
        one = lib.llama_token_data(token, 1.0, 0.0)
        array = lib.llama_token_data_array(ctypes.pointer(one), 1, -1, False)
        lib.llama_sampler_apply(self._grammar, ctypes.byref(array))
        return bool(np.isfinite(array.data[0].logit))

    def close(self) -> None:
        """Free the chain, the grammar and the samplers they own."""
        for name in ("_chain", "_grammar"):
            sampler = getattr(self, name)
            if sampler is not None:
                self._lib.llama_sampler_free(sampler)
                setattr(self, name, None)

    def __enter__(self) -> SamplerChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)
"""Memory layout of ``llama_token_data``."""


def _checked(sampler: Any) -> Any:
    if not sampler:
        raise MemoryError("llama.cpp could not create a sampler")
    return sampler
