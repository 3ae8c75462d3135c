"""OnnxRunner: a converted model in one ONNX Runtime session — tokenize, generate, embed, close.

The KV cache lives in ONNX Runtime values kept between steps (IO binding feeds each step's
``present`` outputs back as the next step's ``past`` inputs without copying them through numpy).
The prompt runs in chunks of ``num_batch`` positions (cancellation is checked between chunks and
between generated tokens). A new request reuses the cache of the prefix it shares with the
previous sequence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from corral.core.constrain import OutputConstraint, output_constraint
from corral.core.engine import GenerateParams, RunnerCapabilities, TokenOut
from corral.core.errors import BadRequest, CorralError
from corral.core.limits import INPUT_TOO_LONG
from corral.core.sampling import Sampler, token_logprobs
from corral.core.tokenizer import GGUFTokenizer

__all__ = ["OnnxRunner"]

log = logging.getLogger(__name__)

_CLOSE_WAIT = 30.0


class _Cache:
    """Per-layer past key/value OrtValues and the tokens they hold."""

    def __init__(self, values: list[ort.OrtValue], tokens: list[int]) -> None:
        self.values = values
        self.tokens = tokens


class OnnxRunner:
    """A model loaded into an ONNX Runtime session (one sequence: one KV cache)."""

    backend = "onnx"
    capabilities = RunnerCapabilities(sequences=1, constrained_output=True, logprobs=True, embeddings=True)

    def __init__(
        self,
        session: ort.InferenceSession,
        tokenizer: GGUFTokenizer,
        *,
        context_length: int,
        batch: int,
        memory_bytes: int,
        vram_bytes: int,
        device: str,
        embedding: bool,
    ) -> None:
        self._session: ort.InferenceSession | None = session
        self._tokenizer = tokenizer
        self._device = device
        self._embedding = embedding
        self._batch = max(1, batch)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        kv = next(i for i in session.get_inputs() if i.name == "past_key_0")
        self._kv_heads, self._head_dim = int(kv.shape[1]), int(kv.shape[3])
        self._past_names = [i.name for i in session.get_inputs() if i.name.startswith("past_")]
        self._present_names = [n.replace("past_", "present_", 1) for n in self._past_names]
        self._cache = self._empty_cache()
        self.context_length = context_length
        self.memory_bytes = memory_bytes
        self.vram_bytes = vram_bytes
        self.vocab_size = tokenizer.vocab_size

    # --- vocabulary -----------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Text to token ids with the shared GGUF tokenizer (identical to llama.cpp's)."""
        return self._tokenizer.encode(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes, special tokens rendered as text."""
        self._check_tokens(tokens)
        return self._tokenizer.decode(list(tokens))

    def _check_tokens(self, tokens: Sequence[int]) -> None:
        for t in tokens:
            if not isinstance(t, int | np.integer) or not 0 <= int(t) < self.vocab_size:
                raise BadRequest(f"invalid token id {t}: the vocabulary has {self.vocab_size} tokens")

    # --- the graph ------------------------------------------------------------------------------

    def _empty_cache(self) -> _Cache:
        empty = np.zeros((1, self._kv_heads, 0, self._head_dim), dtype=np.float32)
        return _Cache([ort.OrtValue.ortvalue_from_numpy(empty) for _ in self._past_names], [])

    def _run(
        self, tokens: Sequence[int], cache: _Cache, *, hidden: bool = False
    ) -> tuple[NDArray[np.float32], _Cache]:
        """Run ``tokens`` after ``cache``; return the last logits (or all hidden states) and the
        new cache."""
        session = self._session
        if session is None:
            raise CorralError("the model was unloaded")
        past = len(cache.tokens)
        total = past + len(tokens)
        binding = session.io_binding()
        binding.bind_cpu_input("input_ids", np.asarray([tokens], dtype=np.int64))
        binding.bind_cpu_input("seqlens_k", np.asarray([total - 1], dtype=np.int32))
        binding.bind_cpu_input("total_sequence_length", np.asarray(total, dtype=np.int32))
        for name, value in zip(self._past_names, cache.values, strict=True):
            binding.bind_ortvalue_input(name, value)
        binding.bind_output("hidden" if hidden else "logits", "cpu")
        for name in self._present_names:
            binding.bind_output(name, self._device)
        session.run_with_iobinding(binding)
        outputs = binding.get_outputs()
        result: NDArray[np.float32] = outputs[0].numpy()
        return result, _Cache(list(outputs[1:]), [*cache.tokens, *tokens])

    def _prefix_cache(self, tokens: list[int]) -> _Cache:
        """The current cache cut to the longest prefix it shares with ``tokens`` (at least the
        last token is always evaluated again, for fresh logits)."""
        cached = self._cache.tokens
        limit = min(len(cached), len(tokens) - 1)
        common = 0
        while common < limit and cached[common] == tokens[common]:
            common += 1
        if common == 0:
            return self._empty_cache()
        if common == len(cached):
            return self._cache
        cut = [
            ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(v.numpy()[:, :, :common, :]))
            for v in self._cache.values
        ]
        return _Cache(cut, cached[:common])

    def _prefill(
        self, tokens: list[int], cache: _Cache, cancel: threading.Event
    ) -> tuple[NDArray[np.float32], _Cache] | None:
        logits: NDArray[np.float32] | None = None
        start = len(cache.tokens)
        for at in range(start, len(tokens), self._batch):
            if cancel.is_set() or self._closing.is_set():
                return None
            logits, cache = self._run(tokens[at : at + self._batch], cache)
        assert logits is not None
        return logits, cache

    def logits(self, tokens: Sequence[int]) -> NDArray[np.float32]:
        """The last position's logits for ``tokens`` from an empty cache (the agreement kit's
        :class:`~corral.testing.agreement.logits.LogitsProvider`)."""
        with self._lock:
            result = self._prefill(list(tokens), self._empty_cache(), threading.Event())
        assert result is not None
        return result[0].reshape(-1)

    # --- generation -----------------------------------------------------------------------------

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Yield tokens until EOG (a final ``TokenOut(eog=True)``), ``num_predict``, a full
        context, ``cancel`` or :meth:`close`. Bad token ids, an empty prompt or a bad output
        constraint (applied with llguidance) raise :class:`BadRequest` before any work is done."""
        if self._session is None:
            raise CorralError("the model was unloaded")
        if self._embedding:
            raise BadRequest("this model was loaded for embeddings and cannot generate")
        tokens = list(params.prompt_tokens)
        if not tokens:
            raise BadRequest("the prompt is empty")
        self._check_tokens(tokens)
        constraint = output_constraint(params, self._tokenizer, "onnx")
        if len(tokens) > self.context_length:  # the core fits prompts (corral.core.limits)
            raise BadRequest(INPUT_TOO_LONG)
        return self._generate(tokens, params, cancel, constraint)

    def _generate(
        self,
        tokens: list[int],
        params: GenerateParams,
        cancel: threading.Event,
        constraint: OutputConstraint | None = None,
    ) -> Iterator[TokenOut]:
        with self._lock:
            first = self._prefill(tokens, self._prefix_cache(tokens), cancel)
            if first is None:
                return
            logits, self._cache = first
            sampler = Sampler(params.sampling, logits.shape[-1], params.logit_bias, constraint)
            for t in tokens:
                sampler.accept(t)
            limit = params.num_predict if params.num_predict > 0 else 0
            top_n = max(0, params.top_logprobs) if params.logprobs else 0
            generated = 0
            while True:
                row = logits.reshape(-1)
                token = sampler.sample(row)
                sampler.accept(token)
                piece = self._tokenizer.piece(token)
                logprob, top = (
                    token_logprobs(row, token, top_n, self._tokenizer.piece)
                    if params.logprobs
                    else (None, ())
                )
                if self._tokenizer.is_eog(token):
                    yield TokenOut(token, piece, logprob, top, eog=True)
                    return
                generated += 1
                yield TokenOut(token, piece, logprob, top)
                if limit and generated >= limit:
                    return
                if (
                    cancel.is_set()
                    or self._closing.is_set()
                    or len(self._cache.tokens) >= self.context_length
                ):
                    return
                logits, self._cache = self._run([token], self._cache)

    # --- embeddings -----------------------------------------------------------------------------

    def embed(self, tokens: Sequence[int]) -> list[float]:
        """Mean of the final normalized hidden states over the tokens (not normalized)."""
        if not tokens:
            raise BadRequest("the input is empty")
        self._check_tokens(tokens)
        if len(tokens) > self.context_length:
            raise BadRequest("the input length exceeds the context length")
        with self._lock:
            cache = self._empty_cache()
            parts: list[NDArray[np.float32]] = []
            ids = list(tokens)
            for at in range(0, len(ids), self._batch):
                hidden, cache = self._run(ids[at : at + self._batch], cache, hidden=True)
                parts.append(hidden.reshape(-1, hidden.shape[-1]))
        pooled: Any = np.concatenate(parts).astype(np.float64).mean(axis=0)
        return [float(x) for x in pooled]

    def close(self) -> None:
        """Drop the session and the KV cache (waits up to 30 s for a running generation to stop)."""
        self._closing.set()
        if not self._lock.acquire(timeout=_CLOSE_WAIT):
            # An abandoned generator still holds the lock; dropping the session under it could
            # crash a run in progress, so its memory is left to the garbage collector.
            log.error("onnx runner busy for %ss after close(); the session is not freed now", _CLOSE_WAIT)
            return
        try:
            self._session = None
            self._cache = _Cache([], [])
        finally:
            self._lock.release()
