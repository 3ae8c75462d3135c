"""LlamaCppRunner: one loaded llama.cpp model — tokenize, generate token by token, embed, close."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from corral.backends.llamacpp._host import release_freed_memory
from corral.backends.llamacpp.grammar import GrammarCache
from corral.backends.llamacpp.sampling import SamplerChain
from corral.backends.llamacpp.vocab import token_piece, tokenize_utf8, utf8
from corral.core.engine import GenerateParams, TokenLogprob, TokenOut
from corral.core.errors import BadRequest, CorralError
from corral.core.sampling import token_logprobs
from corral.core.token_ids import check_token_ids

__all__ = ["GenerationInfo", "LlamaCppRunner"]

log = logging.getLogger(__name__)

_CLOSE_WAIT = 30.0
"""Seconds close() waits for a running generation to notice it and stop."""

_MAX_TEXT_BYTES = 2**31 - 64
"""llama_tokenize takes an int32 length (CVE-2025-52566 was an overflow there)."""


@dataclass
class GenerationInfo:
    """What happened in the runner's latest generation; read it after the token iterator ends.

    ``stop_reason`` tells the core how generation ended: ``"eog"`` (the model produced an
    end-of-generation token; the last TokenOut had ``eog=True``), ``"num_predict"`` or
    ``"context"`` (a length limit: Ollama's ``done_reason: "length"``), ``"canceled"`` or
    ``"closed"`` (the cancel event was set or the runner closed), ``"abandoned"`` (the caller
    stopped iterating, say on a stop string, or an error was raised). None while running.
    """

    prompt_tokens: int = 0
    """Prompt length after truncation."""
    truncated: int = 0
    """Prompt tokens dropped (after the first ``num_keep``) so the prompt fits the context."""
    cached_tokens: int = 0
    """Prompt prefix reused from the previous generation's KV cache (0 when a seed is set:
    seeded requests are evaluated from scratch so that they reproduce exactly)."""
    prompt_eval_count: int = 0
    """Prompt tokens evaluated by this generation (``prompt_tokens - cached_tokens``)."""
    generated: int = 0
    """Tokens yielded, not counting a final EOG token."""
    stop_reason: str | None = None


class LlamaCppRunner:
    """A model loaded into one llama.cpp context.

    One context holds one KV cache, so generations and embeddings run one at a time
    (``max_parallel = 1``): a lock held from a generation's first token to its end serialises
    callers that the scheduler did not. Tokenizing needs only the vocabulary and runs unlocked.
    Consecutive generations that share a prompt prefix reuse its KV cache.
    """

    backend = "llamacpp"
    max_parallel = 1

    def __init__(
        self,
        lib: Any,
        llm: Any,
        *,
        memory_bytes: int,
        vram_bytes: int,
        embedding: bool,
        n_threads: int,
        gpu_layers: int,
    ) -> None:
        self._lib = lib
        self._llm: Any = llm
        self._vocab: Any = lib.llama_model_get_vocab(llm.model)
        self._n_vocab = int(lib.llama_vocab_n_tokens(self._vocab))
        self._embedding = embedding
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._pieces: dict[int, bytes] = {}
        self._grammars = GrammarCache(lib, self._vocab)
        self._abort_event: threading.Event | None = None
        # ctypes callbacks must outlive every call that may invoke them.
        self._abort_cb = lib.ggml_abort_callback(self._should_abort)
        self._no_abort = lib.ggml_abort_callback()
        self.context_length = int(llm.n_ctx())
        self.memory_bytes = memory_bytes
        self.vram_bytes = vram_bytes
        self.n_threads = n_threads
        """Threads llama.cpp computes with."""
        self.gpu_layers = gpu_layers
        """Layers offloaded to an accelerator (0 on a CPU build)."""
        self.last_generation = GenerationInfo()
        """The latest generation's :class:`GenerationInfo`."""

    # --- vocabulary -----------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Text to token ids; ``add_special`` adds BOS/EOS as the model's metadata says."""
        self._require_open()
        data = utf8(text)
        if len(data) > _MAX_TEXT_BYTES:
            raise BadRequest("input is too long to tokenize")
        return tokenize_utf8(self._lib, self._vocab, data, add_special, parse_special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes, special tokens rendered as their text."""
        self._require_open()
        check_token_ids(tokens, self._n_vocab)
        return b"".join(self._piece(t) for t in tokens)

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = token_piece(self._lib, self._vocab, token)
        return piece

    # --- generation -----------------------------------------------------------------------------

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Yield tokens until EOG (a final ``TokenOut(eog=True)``), ``num_predict`` (when > 0),
        a full context, ``cancel`` or :meth:`close`; see :class:`GenerationInfo` for which.

        A prompt longer than the context keeps its first ``num_keep`` tokens and its end. Bad
        token ids, an empty prompt and invalid grammars or schemas raise :class:`BadRequest`
        here, before any work is queued. While iterating, a grammar that rules out every token
        raises :class:`BadRequest`, and a llama.cpp failure :class:`CorralError`.
        """
        self._require_open()
        if self._embedding:
            raise BadRequest("this model was loaded for embeddings and cannot generate")
        tokens = list(params.prompt_tokens)
        if not tokens:
            raise BadRequest("the prompt is empty")
        check_token_ids(tokens, self._n_vocab)
        grammar = self._grammars.for_request(params)
        info = GenerationInfo()
        tokens, info.truncated = _fit_context(tokens, self.context_length, params.num_keep)
        info.prompt_tokens = len(tokens)
        return self._generate(tokens, grammar, params, cancel, info)

    def _generate(
        self,
        tokens: list[int],
        grammar: str | None,
        params: GenerateParams,
        cancel: threading.Event,
        info: GenerationInfo,
    ) -> Iterator[TokenOut]:
        with self._lock:
            llm = self._require_open()
            self.last_generation = info
            try:
                yield from self._run(llm, tokens, grammar, params, cancel, info)
            finally:
                if info.stop_reason is None:
                    info.stop_reason = "abandoned"

    def _run(
        self,
        llm: Any,
        tokens: list[int],
        grammar: str | None,
        params: GenerateParams,
        cancel: threading.Event,
        info: GenerationInfo,
    ) -> Iterator[TokenOut]:
        # llama.cpp's logits depend slightly on how the prompt was split into batches, so a
        # reused prefix can change a sampled token. A request with a seed asks for reproducible
        # output: it is evaluated from scratch, as on a freshly loaded model.
        reuse = params.sampling.seed < 0
        info.cached_tokens = self._reuse_prefix(llm, tokens) if reuse else self._clear_cache(llm)
        info.prompt_eval_count = len(tokens) - info.cached_tokens
        if not self._eval_prompt(llm, tokens[info.cached_tokens :], cancel):
            info.stop_reason = self._cancel_reason()
            return
        sampling = params.sampling
        last_n = sampling.repeat_last_n
        last_n = self.context_length if last_n < 0 else min(last_n, self.context_length)
        limit = params.num_predict if params.num_predict > 0 else 0
        top_n = max(0, params.top_logprobs) if params.logprobs else 0
        with SamplerChain(
            self._lib,
            self._vocab,
            self._n_vocab,
            sampling,
            penalty_last_n=last_n,
            grammar=grammar,
            logit_bias=params.logit_bias,
        ) as chain:
            while True:
                token = chain.sample(llm.ctx)
                logprob, top = self._logprobs(token, top_n) if params.logprobs else (None, ())
                if self._lib.llama_vocab_is_eog(self._vocab, token):
                    info.stop_reason = "eog"
                    yield TokenOut(token, self._piece(token), logprob, top, eog=True)
                    return
                info.generated += 1
                yield TokenOut(token, self._piece(token), logprob, top)
                if limit and info.generated >= limit:
                    info.stop_reason = "num_predict"
                    return
                if cancel.is_set() or self._closing.is_set():
                    info.stop_reason = self._cancel_reason()
                    return
                if llm.n_tokens >= self.context_length:
                    info.stop_reason = "context"
                    return
                self._decode(llm, [token])

    def _cancel_reason(self) -> str:
        return "closed" if self._closing.is_set() else "canceled"

    def _logprobs(self, token: int, top_n: int) -> tuple[TokenLogprob, tuple[TokenLogprob, ...]]:
        pointer = self._lib.llama_get_logits_ith(self._llm.ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
        return token_logprobs(logits, token, top_n, self._piece)

    def _reuse_prefix(self, llm: Any, tokens: list[int]) -> int:
        """Keep the KV cache of the longest prefix shared with the previous sequence; return its
        length. At least the last prompt token is always evaluated again, for fresh logits."""
        cached = int(llm.n_tokens)
        limit = min(cached, len(tokens) - 1)
        common = 0
        if limit > 0:
            old = np.asarray(llm.input_ids[:limit], dtype=np.int64)
            differ = np.flatnonzero(old != np.asarray(tokens[:limit], dtype=np.int64))
            common = int(differ[0]) if differ.size else limit
        memory = self._lib.llama_get_memory(llm.ctx)
        if common > 0 and memory and self._lib.llama_memory_seq_rm(memory, 0, common, -1):
            llm.n_tokens = common
            return common
        self._clear_cache(llm)
        return 0

    def _clear_cache(self, llm: Any) -> int:
        """Forget the KV cache; returns the number of tokens kept (0)."""
        memory = self._lib.llama_get_memory(llm.ctx)
        if memory:
            self._lib.llama_memory_clear(memory, True)
        llm.n_tokens = 0
        return 0

    def _eval_prompt(self, llm: Any, tokens: list[int], cancel: threading.Event) -> bool:
        """Evaluate prompt tokens, abortable through ``cancel``; False when it was canceled.

        The abort callback runs once per graph node, so it is installed only for the prompt
        (long, worth interrupting) and not for the one-token decode steps."""
        if cancel.is_set() or self._closing.is_set():
            return False
        self._abort_event = cancel
        self._lib.llama_set_abort_callback(llm.ctx, self._abort_cb, None)
        try:
            self._decode(llm, tokens)
        except _Aborted:
            return False
        finally:
            self._lib.llama_set_abort_callback(llm.ctx, self._no_abort, None)
            self._abort_event = None
        return True

    def _should_abort(self, _data: Any) -> bool:
        event = self._abort_event
        return self._closing.is_set() or (event is not None and event.is_set())

    def _decode(self, llm: Any, tokens: list[int]) -> None:
        try:
            llm.eval(tokens)
        except RuntimeError as exc:
            # Llama.eval counts only whole batches, so the cache stays consistent after an abort.
            if str(exc).endswith(" 2") and self._should_abort(None):
                raise _Aborted from exc
            self._clear_cache(llm)
            raise CorralError(f"llama.cpp failed to evaluate tokens: {exc}") from exc

    # --- embeddings -----------------------------------------------------------------------------

    def embed(self, tokens: Sequence[int]) -> list[float]:
        """Pooled embedding of one token sequence, not normalized (mean of the token embeddings
        when the model defines no pooling). Needs a runner loaded with ``embedding=True``."""
        self._require_open()
        if not self._embedding:
            raise BadRequest("this model was not loaded for embeddings")
        if not tokens:
            raise BadRequest("the input is empty")
        check_token_ids(tokens, self._n_vocab)
        if len(tokens) > self.context_length:
            raise BadRequest("the input length exceeds the context length")
        lib = self._lib
        with self._lock:
            llm = self._require_open()
            ctx = llm.ctx
            batch = lib.llama_batch_init(len(tokens), 0, 1)
            try:
                for i, token in enumerate(tokens):
                    batch.token[i] = token
                    batch.pos[i] = i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = True
                batch.n_tokens = len(tokens)
                self._clear_cache(llm)
                code = int(lib.llama_decode(ctx, batch))
                if code != 0:
                    raise CorralError(f"llama.cpp failed to compute the embedding (llama_decode {code})")
                return self._pooled(len(tokens))
            finally:
                lib.llama_batch_free(batch)
                self._clear_cache(llm)

    def _pooled(self, n_tokens: int) -> list[float]:
        lib, ctx = self._lib, self._llm.ctx
        n_embd = int(lib.llama_model_n_embd_out(self._llm.model))
        if int(lib.llama_pooling_type(ctx)) == lib.LLAMA_POOLING_TYPE_NONE:
            rows = np.ctypeslib.as_array(lib.llama_get_embeddings(ctx), shape=(n_tokens * n_embd,))
            return [float(x) for x in rows.reshape(n_tokens, n_embd).astype(np.float64).mean(axis=0)]
        pointer = lib.llama_get_embeddings_seq(ctx, 0)
        if not pointer:
            raise CorralError("llama.cpp returned no pooled embedding")
        return [float(x) for x in np.ctypeslib.as_array(pointer, shape=(n_embd,))]

    # --- lifetime -------------------------------------------------------------------------------

    def _require_open(self) -> Any:
        llm = self._llm
        if llm is None or self._closing.is_set():
            raise CorralError("the model has been unloaded")
        return llm

    def close(self) -> None:
        """Stop a running generation at its next token, then free the model and its context."""
        self._closing.set()
        if not self._lock.acquire(timeout=_CLOSE_WAIT):
            # A generation iterator was dropped without being closed and still holds the
            # context. Freeing the model under it could crash the process; leak it instead.
            log.error("llama.cpp runner busy for %ss after close(); its memory is not freed", _CLOSE_WAIT)
            return
        try:
            llm, self._llm = self._llm, None
            if llm is None:
                return
            llm.close()
            del llm
            self._pieces.clear()
        finally:
            self._lock.release()
        gc.collect()
        release_freed_memory()


class _Aborted(Exception):
    """llama_decode stopped because the abort callback asked it to."""


def _fit_context(tokens: list[int], n_ctx: int, num_keep: int) -> tuple[list[int], int]:
    """Cut a prompt that does not fit: keep the first ``num_keep`` tokens and the newest rest."""
    if len(tokens) <= n_ctx:
        return tokens, 0
    keep = min(max(num_keep, 0), n_ctx - 1)
    dropped = len(tokens) - n_ctx
    return tokens[:keep] + tokens[keep + dropped :], dropped
