"""CpuRefRunner: one model loaded into numpy — tokenize, generate token by token, embed, logits."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from corral.backends.cpu_ref.model import Transformer
from corral.core.constrain import OutputConstraint, output_constraint
from corral.core.engine import GenerateParams, RunnerCapabilities, TokenOut
from corral.core.errors import BadRequest, CorralError
from corral.core.limits import INPUT_TOO_LONG
from corral.core.sampling import Sampler, token_logprobs
from corral.core.token_ids import check_token_ids
from corral.core.tokenizer import GGUFTokenizer

__all__ = ["CpuRefRunner", "GenerationInfo"]

log = logging.getLogger(__name__)

_CLOSE_WAIT = 30.0
"""Seconds close() waits for a running generation to notice it and stop."""

@dataclass
class GenerationInfo:
    """What happened in the runner's latest generation (the llamacpp runner's fields and
    ``stop_reason`` values: ``eog``, ``num_predict``, ``context``, ``canceled``, ``closed``,
    ``abandoned``)."""

    prompt_tokens: int = 0
    truncated: int = 0
    cached_tokens: int = 0
    prompt_eval_count: int = 0
    generated: int = 0
    stop_reason: str | None = None


class CpuRefRunner:
    """A model held as float32 numpy arrays with a one-sequence KV cache.

    Generations, embeddings and :meth:`logits` run one at a time (one sequence) under a
    lock. Consecutive generations without a seed reuse the KV cache of their common prompt
    prefix; a seeded one is evaluated from scratch so that it reproduces exactly.
    """

    backend = "cpu-ref"
    capabilities = RunnerCapabilities(sequences=1, constrained_output=True, logprobs=True, embeddings=True)
    vram_bytes = 0

    def __init__(
        self, model: Transformer, tokenizer: GGUFTokenizer, *, num_batch: int, memory_bytes: int
    ) -> None:
        self._model: Transformer | None = model
        self._tokenizer = tokenizer
        self._n_vocab = model.config.n_vocab
        self._num_batch = max(1, num_batch)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._cached: list[int] = []
        """The tokens whose keys and values are in the cache, in order."""
        self.context_length = model.n_ctx
        self.memory_bytes = memory_bytes
        self.last_generation = GenerationInfo()
        """The latest generation's :class:`GenerationInfo`."""

    # --- vocabulary -----------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Text to token ids with the GGUF's own tokenizer (identical to llama.cpp's)."""
        self._require_open()
        return self._tokenizer.encode(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes, special tokens rendered as their text."""
        self._require_open()
        check_token_ids(tokens, self._n_vocab)
        return self._tokenizer.decode(list(tokens))

    # --- generation -----------------------------------------------------------------------------

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Yield tokens until EOG (a final ``TokenOut(eog=True)``), ``num_predict`` (when > 0),
        a full context, ``cancel`` or :meth:`close`; :attr:`last_generation` says which.

        Bad token ids, an empty prompt and a bad output constraint (grammar, JSON schema, JSON
        mode; applied with llguidance) raise :class:`BadRequest` here, before any work.
        """
        self._require_open()
        constraint = output_constraint(params, self._tokenizer, "cpu-ref")
        tokens = list(params.prompt_tokens)
        if not tokens:
            raise BadRequest("the prompt is empty")
        check_token_ids(tokens, self._n_vocab)
        if len(tokens) > self.context_length:  # the core fits prompts (corral.core.limits)
            raise BadRequest(INPUT_TOO_LONG)
        info = GenerationInfo()
        info.prompt_tokens = len(tokens)
        return self._generate(tokens, params, cancel, info, constraint)

    def _generate(
        self,
        tokens: list[int],
        params: GenerateParams,
        cancel: threading.Event,
        info: GenerationInfo,
        constraint: OutputConstraint | None,
    ) -> Iterator[TokenOut]:
        with self._lock:
            model = self._require_open()
            self.last_generation = info
            try:
                yield from self._run(model, tokens, params, cancel, info, constraint)
            finally:
                if info.stop_reason is None:
                    info.stop_reason = "abandoned"

    def _run(
        self,
        model: Transformer,
        tokens: list[int],
        params: GenerateParams,
        cancel: threading.Event,
        info: GenerationInfo,
        constraint: OutputConstraint | None = None,
    ) -> Iterator[TokenOut]:
        reuse = params.sampling.seed < 0
        info.cached_tokens = self._common_prefix(tokens) if reuse else 0
        info.prompt_eval_count = len(tokens) - info.cached_tokens
        hidden = self._evaluate(model, tokens, info.cached_tokens, cancel)
        if hidden is None:
            info.stop_reason = self._cancel_reason()
            return
        logits = model.logits(hidden)[0]
        sampler = Sampler(params.sampling, self._n_vocab, params.logit_bias, constraint)
        limit = params.num_predict if params.num_predict > 0 else 0
        top_n = max(0, params.top_logprobs) if params.logprobs else 0
        piece = self._tokenizer.piece
        while True:
            token = sampler.sample(logits)
            sampler.accept(token)
            logprob, top = token_logprobs(logits, token, top_n, piece) if params.logprobs else (None, ())
            if self._tokenizer.is_eog(token):
                info.stop_reason = "eog"
                yield TokenOut(token, piece(token), logprob, top, eog=True)
                return
            info.generated += 1
            yield TokenOut(token, piece(token), logprob, top)
            if limit and info.generated >= limit:
                info.stop_reason = "num_predict"
                return
            if cancel.is_set() or self._closing.is_set():
                info.stop_reason = self._cancel_reason()
                return
            if len(self._cached) >= self.context_length:
                info.stop_reason = "context"
                return
            hidden = model.forward([token], len(self._cached))
            self._cached.append(token)
            logits = model.logits(hidden)[0]

    def _cancel_reason(self) -> str:
        return "closed" if self._closing.is_set() else "canceled"

    def _common_prefix(self, tokens: list[int]) -> int:
        """Length of the cached prefix shared with ``tokens``; the last prompt token is always
        evaluated again, for fresh logits."""
        limit = min(len(self._cached), len(tokens) - 1)
        if limit <= 0:
            return 0
        old = np.asarray(self._cached[:limit], dtype=np.int64)
        differ = np.flatnonzero(old != np.asarray(tokens[:limit], dtype=np.int64))
        return int(differ[0]) if differ.size else limit

    def _evaluate(
        self, model: Transformer, tokens: list[int], start: int, cancel: threading.Event | None
    ) -> NDArray[np.float32] | None:
        """Run ``tokens[start:]`` through the model in chunks of ``num_batch`` (one matmul per
        weight per chunk); return the last position's hidden state ``(1, n_embd)``, or None when
        canceled between chunks (the cache then holds the chunks already done)."""
        del self._cached[start:]
        hidden: NDArray[np.float32] | None = None
        for begin in range(start, len(tokens), self._num_batch):
            if self._closing.is_set() or (cancel is not None and cancel.is_set()):
                return None
            chunk = tokens[begin : begin + self._num_batch]
            hidden = model.forward(chunk, begin)[-1:]
            self._cached.extend(chunk)
        return hidden

    # --- logits (the agreement kit's LogitsProvider) --------------------------------------------

    def logits(self, tokens: Sequence[int]) -> NDArray[np.float32]:
        """Raw last-position logits of ``tokens``, evaluated from an empty cache."""
        self._require_open()
        if not tokens:
            raise BadRequest("the input is empty")
        check_token_ids(tokens, self._n_vocab)
        if len(tokens) > self.context_length:
            raise BadRequest("the input length exceeds the context length")
        with self._lock:
            model = self._require_open()
            hidden = self._evaluate(model, list(tokens), 0, None)
            assert hidden is not None
            out: NDArray[np.float32] = model.logits(hidden)[0]
            return out

    # --- embeddings -----------------------------------------------------------------------------

    def embed(self, tokens: Sequence[int]) -> list[float]:
        """Mean of the final (normalized) hidden states over all positions, not normalized
        again (the core normalizes), as llama.cpp pools a model without its own pooling."""
        self._require_open()
        if not tokens:
            raise BadRequest("the input is empty")
        check_token_ids(tokens, self._n_vocab)
        if len(tokens) > self.context_length:
            raise BadRequest("the input length exceeds the context length")
        with self._lock:
            model = self._require_open()
            total = np.zeros(model.config.n_embd, dtype=np.float64)
            del self._cached[:]
            for begin in range(0, len(tokens), self._num_batch):
                chunk = list(tokens[begin : begin + self._num_batch])
                total += model.forward(chunk, begin).sum(axis=0, dtype=np.float64)
                self._cached.extend(chunk)
            return [float(x) for x in total / len(tokens)]

    # --- lifetime -------------------------------------------------------------------------------

    def _require_open(self) -> Transformer:
        model = self._model
        if model is None or self._closing.is_set():
            raise CorralError("the model has been unloaded")
        return model

    def close(self) -> None:
        """Stop a running generation at its next token, then drop the weights and the cache."""
        self._closing.set()
        if not self._lock.acquire(timeout=_CLOSE_WAIT):
            log.error("cpu-ref runner busy for %ss after close(); its memory is freed later", _CLOSE_WAIT)
            self._model = None
            return
        try:
            model, self._model = self._model, None
            if model is not None:
                model.close()
            self._cached = []
        finally:
            self._lock.release()
        gc.collect()
