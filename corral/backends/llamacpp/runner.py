"""LlamaCppRunner: one loaded llama.cpp model serving several generations at once (continuous batching).

Each ``generate`` call becomes a :class:`~corral.backends.llamacpp.batch.Sequence` of the model's
:class:`~corral.backends.llamacpp.batch.BatchEngine`; the calling thread only waits on that
sequence's queue. Tokenizing needs only the vocabulary and runs on the caller's thread.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corral.backends.llamacpp._host import release_freed_memory
from corral.backends.llamacpp.batch import END, BatchEngine
from corral.backends.llamacpp.batch import Sequence as BatchSequence
from corral.backends.llamacpp.context import NativeModel
from corral.backends.llamacpp.grammar import GrammarCache
from corral.backends.llamacpp.sampling import SamplerChain
from corral.backends.llamacpp.vision import ImageBlock, Projector, splice
from corral.backends.llamacpp.vocab import Vocabulary
from corral.core.engine import GenerateParams, RunnerCapabilities, TokenLogprob, TokenOut
from corral.core.errors import BadRequest, CorralError
from corral.core.limits import INPUT_TOO_LONG
from corral.core.sampling import token_logprobs
from corral.core.token_ids import check_token_ids

__all__ = ["LlamaCppRunner"]

log = logging.getLogger(__name__)


class LlamaCppRunner:
    """A model in one llama.cpp context with ``capabilities.sequences`` slots.

    Seeded requests (``seed >= 0``) are evaluated without prefix reuse, as on a freshly loaded
    model, and sample with their own seeded chain, so a seeded request run alone reproduces
    exactly. Run beside other requests, its logits can differ in the last bits (llama.cpp's
    results depend on how a batch is composed), so a near-tie may resolve differently.
    """

    backend = "llamacpp"

    def __init__(
        self,
        native: NativeModel,
        *,
        memory_bytes: int,
        vram_bytes: int,
        n_threads: int,
        gpu_layers: int,
        projector: Projector | None = None,
    ) -> None:
        lib = native.lib
        self._lib = lib
        self._native: NativeModel | None = native
        self._vocab: Any = native.vocab
        self._words = Vocabulary(lib, native.vocab)
        self._n_vocab = self._words.n_vocab
        self._piece = self._words.piece
        self._grammars = GrammarCache(lib, self._vocab)
        self._projector = projector
        self._engine = BatchEngine(native, piece=self._piece, logprobs=self._logprobs, projector=projector)
        self.context_length = native.n_ctx_seq
        self.memory_bytes = memory_bytes
        self.vram_bytes = vram_bytes
        self.n_threads = n_threads
        """Threads llama.cpp computes with."""
        self.gpu_layers = gpu_layers
        """Layers offloaded to an accelerator (0 on a CPU build)."""
        self.capabilities = RunnerCapabilities(
            sequences=native.n_seq,
            constrained_output=True,
            logprobs=True,
            context_shift=native.can_shift,
            images=projector is not None and projector.usable,
        )

    # --- vocabulary -----------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Text to token ids; ``add_special`` adds BOS/EOS as the model's metadata says."""
        self._require_open()
        return self._words.tokenize(text, add_special, parse_special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes, special tokens rendered as their text."""
        self._require_open()
        return self._words.detokenize(tokens)

    def _logprobs(self, index: int, token: int, top_n: int) -> tuple[TokenLogprob, tuple[TokenLogprob, ...]]:
        native = self._require_open()
        pointer = self._lib.llama_get_logits_ith(native.ctx, index)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
        return token_logprobs(logits, token, top_n, self._piece)

    # --- generation -----------------------------------------------------------------------------

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Yield tokens until EOG (a final ``TokenOut(eog=True)``), ``num_predict`` (when > 0), a
        full context that may not shift, ``cancel`` or :meth:`close`.

        Bad token ids, an empty or too long prompt and invalid grammars or schemas raise
        :class:`BadRequest` here, before anything is queued. While iterating, a grammar that rules
        out every token raises :class:`BadRequest`, and a llama.cpp failure :class:`CorralError`.
        """
        self._require_open()
        tokens = list(params.prompt_tokens)
        if not tokens:
            raise BadRequest("the prompt is empty")
        if len(tokens) > self.context_length:
            raise BadRequest(INPUT_TOO_LONG)
        check_token_ids(tokens, self._n_vocab)
        tokens, images = self._with_images(tokens, params)
        try:
            grammar = self._grammars.for_request(params)
        except BaseException:
            _close_all(images.values())
            raise
        last_n = params.sampling.repeat_last_n
        last_n = self.context_length if last_n < 0 else min(last_n, self.context_length)
        chain = SamplerChain(
            self._lib,
            self._vocab,
            self._n_vocab,
            params.sampling,
            penalty_last_n=last_n,
            grammar=grammar,
            logit_bias=params.logit_bias,
        )
        seq = BatchSequence(
            prompt=tokens,
            params=params,
            chain=chain,
            cancel=cancel,
            reuse_cache=params.sampling.seed < 0,
            images=images,
        )
        try:
            self._engine.submit(seq)
        except BaseException:
            chain.close()
            _close_all(images.values())
            raise
        return self._drain(seq)

    def _with_images(
        self, tokens: list[int], params: GenerateParams
    ) -> tuple[list[int], dict[int, ImageBlock]]:
        """The prompt's cells with its images encoded in place (a no-op without images)."""
        if not params.images:
            return tokens, {}
        projector = self._projector
        if projector is None or not projector.usable:
            raise BadRequest("this model is missing data required for image input")
        positions = params.image_positions
        bounds = [0, *positions, len(tokens)]
        if len(positions) != len(params.images) or bounds != sorted(bounds):
            raise BadRequest("image positions must be non-decreasing indexes into the prompt")
        encoded: list[list[int | ImageBlock]] = []
        try:
            for number, image in enumerate(params.images):
                encoded.append(projector.encode(image, number))
            cells, blocks = splice(tokens, positions, encoded)
        except BaseException:
            _close_all(p for pieces in encoded for p in pieces if isinstance(p, ImageBlock))
            raise
        if len(cells) > self.context_length:
            _close_all(blocks.values())
            raise BadRequest(INPUT_TOO_LONG)
        if cells[-1] < 0:  # the last cell must be a token, whose logits start the answer
            _close_all(blocks.values())
            raise BadRequest("the prompt must not end with an image")
        return cells, blocks

    def _drain(self, seq: BatchSequence) -> Iterator[TokenOut]:
        try:
            while True:
                try:
                    item = seq.out.get(timeout=0.5)
                except queue.Empty:
                    if seq.cancel.is_set():
                        self._engine.wake()
                    continue
                if item is END:
                    return
                if isinstance(item, BaseException):
                    raise item
                if seq.cancel.is_set():  # tokens the loop made before it saw the cancel
                    return
                yield item
        finally:
            # The caller stopped early (a stop string, a client gone): free the slot now.
            seq.cancel.set()
            self._engine.wake()

    def logits(self, tokens: Sequence[int]) -> NDArray[np.float32]:
        """Raw last-position logits of ``tokens`` evaluated from an empty slot (the agreement kit's
        ``LogitsProvider``); runs in the batch like any sequence."""
        self._require_open()
        prompt = list(tokens)
        if not prompt:
            raise BadRequest("the input is empty")
        if len(prompt) > self.context_length:
            raise BadRequest(INPUT_TOO_LONG)
        check_token_ids(prompt, self._n_vocab)
        params = GenerateParams(prompt_tokens=prompt, num_predict=1)
        chain = SamplerChain(self._lib, self._vocab, self._n_vocab, params.sampling, penalty_last_n=0)
        seq = BatchSequence(
            prompt=prompt,
            params=params,
            chain=chain,
            cancel=threading.Event(),
            reuse_cache=False,
            raw_logits=True,
        )
        self._engine.submit(seq)
        result: NDArray[np.float32] | None = None
        while True:
            item = seq.out.get()
            if item is END:
                break
            if isinstance(item, BaseException):
                raise item
            result = item
        if result is None:
            raise CorralError("llama.cpp returned no logits")
        return result

    def embed(self, tokens: Sequence[int]) -> list[float]:
        """Refused: embeddings need a model loaded for them (``LoadParams.embedding``)."""
        raise BadRequest("this model was not loaded for embeddings")

    def kv_usage(self) -> tuple[int, int]:
        """KV cells holding tokens (running or cached), and the cells of every slot together."""
        return self._engine.kv_usage()

    def slots_in_use(self) -> int:
        """Slots serving a generation right now."""
        return sum(1 for s in self._engine.slots if s.seq is not None)

    def slot_tokens(self) -> list[int]:
        """Cached tokens per slot (a window on the prefix cache, for tests and debugging)."""
        return [len(s.tokens) for s in self._engine.slots]

    # --- lifetime -------------------------------------------------------------------------------

    def _require_open(self) -> NativeModel:
        native = self._native
        if native is None:
            raise CorralError("the model has been unloaded")
        return native

    def close(self) -> None:
        """End every generation (they get an error), then free the context and the model."""
        native, self._native = self._native, None
        if native is None:
            return
        self._engine.close()
        if self._projector is not None:
            self._projector.close()
        native.close()
        self._words.clear()
        gc.collect()
        release_freed_memory()


def _close_all(blocks: Iterable[ImageBlock]) -> None:
    for block in blocks:
        block.close()
