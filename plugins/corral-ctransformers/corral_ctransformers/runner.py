"""CTransformersRunner: tokenizes with ctransformers, evaluates with it, samples with corral's sampler.

ctransformers' own sampler knows top_k, top_p, temperature and a repetition penalty; corral's
requests carry more (min_p, typical_p, presence and frequency penalties, logit_bias, logprobs).
The runner therefore reads the raw logits after each step and samples with
:class:`corral.core.sampling.Sampler`, which applies every Ollama option in llama.cpp's order: no
option is silently dropped. What the engine cannot do at all is declared in :attr:`capabilities`
and refused by the core with 400: several sequences at once, context shift, embeddings, images,
and constrained output for legacy GGML files (which carry no token types for a grammar to use).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray

from corral.core.constrain import output_constraint
from corral.core.errors import BadRequest
from corral.core.sampling import Sampler, token_logprobs
from corral.core.tokenizer import GGUFTokenizer
from corral.plugins import GenerateParams, PromptStats, RunnerCapabilities, TokenOut
from corral_ctransformers._native import NativeModel

__all__ = ["CTransformersRunner"]


class CTransformersRunner:
    """A model loaded by ctransformers; one generation at a time (the core serialises them)."""

    backend = "ctransformers"

    def __init__(
        self,
        native: NativeModel,
        *,
        tokenizer: GGUFTokenizer | None,
        memory_bytes: int,
        num_batch: int,
        space_prefix: bool = False,
        add_bos: bool = True,
    ) -> None:
        """``tokenizer``: corral's reading of a GGUF vocabulary, used only to find special tokens in
        text (ctransformers' llama.cpp predates special-token parsing); None for GGML files.
        ``space_prefix``: put a space before each piece of text (what SentencePiece does, when
        ctransformers does not); ``add_bos``: tokenize(add_special=True) starts with BOS."""
        self._native = native
        self._tok = tokenizer
        self._num_batch = max(1, num_batch)
        self._cached: list[int] = []
        self._closing = threading.Event()
        self.context_length = native.context_length
        self.memory_bytes = memory_bytes
        self.vram_bytes = 0
        self.capabilities = RunnerCapabilities(
            sequences=1, constrained_output=tokenizer is not None, logprobs=True
        )
        self._space_prefix = space_prefix
        self._add_bos = add_bos

    # --- tokens ----------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Token ids of ``text``; control tokens written in the text become tokens when
        ``parse_special`` (GGUF only: GGML vocabularies do not mark them)."""
        fragments = self._tok.partition(text, parse_special=parse_special) if self._tok else [text]
        out: list[int] = [self._native.bos_id] if add_special and self._add_bos else []
        for fragment in fragments:
            if isinstance(fragment, int):
                out.append(fragment)
            elif fragment:
                data = ((" " if self._space_prefix else "") + fragment).encode("utf-8", "replace")
                out += self._native.tokenize(data, False)
        return out

    def piece(self, token: int) -> bytes:
        """One token's bytes; control tokens as their text when the GGUF vocabulary names them."""
        data = self._native.piece(token)
        if not data and self._tok is not None:
            return self._tok.decode([token])
        return data

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes (ids outside the vocabulary are refused with 400)."""
        self._check_ids(tokens)
        return b"".join(self.piece(t) for t in tokens)

    def _check_ids(self, tokens: Sequence[int]) -> None:
        n = self._native.vocab_size
        bad = next((t for t in tokens if not 0 <= t < n), None)
        if bad is not None:
            raise BadRequest(f"token id {bad} is out of range (vocabulary of {n} tokens)")

    def _is_eog(self, token: int) -> bool:
        if self._tok is not None and token in self._tok.eog_ids:
            return True
        return self._native.is_eos(token)

    # --- generation ------------------------------------------------------------------------------

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Yield tokens until EOG (a last ``TokenOut(eog=True)``), ``num_predict``, a full context,
        ``cancel`` or :meth:`close`. Bad ids, an empty prompt and a bad output format are refused
        (400) here, before anything runs."""
        tokens = list(params.prompt_tokens)
        if not tokens:
            raise BadRequest("the prompt is empty")
        if len(tokens) > self.context_length:
            raise BadRequest(f"the prompt ({len(tokens)} tokens) exceeds the context ({self.context_length})")
        self._check_ids(tokens)
        constraint = None
        if self._tok is not None:
            constraint = output_constraint(params, self._tok, self.backend)
        elif params.grammar is not None or params.json_schema is not None or params.json_mode:
            raise BadRequest("the ctransformers backend cannot constrain the output of a GGML model")
        sampler = Sampler(params.sampling, self._native.vocab_size, params.logit_bias, constraint)
        return self._run(tokens, params, sampler, cancel)

    def _run(
        self, tokens: list[int], params: GenerateParams, sampler: Sampler, cancel: threading.Event
    ) -> Iterator[TokenOut]:
        try:
            yield from self._steps(tokens, params, sampler, cancel)
        except RuntimeError:
            if self._closing.is_set():  # closed under a running generation: it just ends
                return
            raise

    def _steps(
        self, tokens: list[int], params: GenerateParams, sampler: Sampler, cancel: threading.Event
    ) -> Iterator[TokenOut]:
        # A fixed seed evaluates from scratch, so the same request gives the same tokens whatever
        # ran before (as the other runners do).
        cached = self._common_prefix(tokens) if params.sampling.seed < 0 else 0
        if not self._evaluate(tokens, cached, cancel):
            return
        logits = self._native.logits()
        top_n = max(0, params.top_logprobs) if params.logprobs else 0
        prompt: PromptStats | None = PromptStats(evaluated=len(tokens) - cached, cached=cached)
        generated = 0
        while True:
            token = sampler.sample(logits)
            sampler.accept(token)
            logprob, top = token_logprobs(logits, token, top_n, self.piece) if params.logprobs else (None, ())
            if self._is_eog(token):
                yield TokenOut(token, self.piece(token), logprob, top, eog=True, prompt=prompt)
                return
            yield TokenOut(token, self.piece(token), logprob, top, prompt=prompt)
            prompt = None
            generated += 1
            if 0 < params.num_predict <= generated:
                return
            if cancel.is_set() or self._closing.is_set() or len(self._cached) >= self.context_length:
                return
            self._native.evaluate([token], len(self._cached), 1)
            self._cached.append(token)
            logits = self._native.logits()

    def _common_prefix(self, tokens: list[int]) -> int:
        """Cached tokens shared with ``tokens``; the last prompt token is always evaluated again."""
        limit = min(len(self._cached), len(tokens) - 1)
        for i in range(max(limit, 0)):
            if self._cached[i] != tokens[i]:
                return i
        return max(limit, 0)

    def _evaluate(self, tokens: list[int], start: int, cancel: threading.Event | None) -> bool:
        """Evaluate ``tokens[start:]`` in chunks of ``num_batch``; False when canceled or closed
        between chunks (the cache then holds the chunks already done)."""
        del self._cached[start:]
        for begin in range(start, len(tokens), self._num_batch):
            if self._closing.is_set() or (cancel is not None and cancel.is_set()):
                return False
            chunk = tokens[begin : begin + self._num_batch]
            self._native.evaluate(chunk, begin, self._num_batch)
            self._cached.extend(chunk)
        return True

    # --- the agreement kit's LogitsProvider ------------------------------------------------------

    def logits(self, tokens: Sequence[int]) -> NDArray[np.float32]:
        """Raw last-position logits of ``tokens``, evaluated from an empty cache."""
        ids = list(tokens)
        self._check_ids(ids)
        self._evaluate(ids, 0, None)
        return self._native.logits()

    # --- the rest of the contract ----------------------------------------------------------------

    def embed(self, tokens: Sequence[int]) -> list[float]:
        """Not offered (``capabilities.embeddings`` is False, so the core refuses first)."""
        raise BadRequest("the ctransformers backend does not compute embeddings")

    def close(self) -> None:
        """Stop a running generation at its next token and free the model."""
        self._closing.set()
        self._native.close()
