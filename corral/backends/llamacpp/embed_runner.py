"""LlamaCppEmbedRunner: a model loaded by llama.cpp for embeddings (pooled, one context).

Generation models run in :class:`~corral.backends.llamacpp.runner.LlamaCppRunner`; an embedding
load is its own runner, since llama.cpp computes embeddings in a context made for them (pooling,
non-causal attention, the whole input in one micro-batch).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from corral.backends.llamacpp._host import release_freed_memory
from corral.backends.llamacpp.vocab import Vocabulary
from corral.core.engine import GenerateParams, RunnerCapabilities, TokenOut
from corral.core.errors import BadRequest, CorralError
from corral.core.token_ids import check_token_ids

__all__ = ["LlamaCppEmbedRunner"]

class LlamaCppEmbedRunner:
    """Embeddings, one input at a time under a lock (the context holds one sequence's cells)."""

    backend = "llamacpp"
    capabilities = RunnerCapabilities(sequences=1, embeddings=True)

    def __init__(self, lib: Any, llm: Any, *, memory_bytes: int, vram_bytes: int, n_threads: int) -> None:
        self._lib = lib
        self._llm: Any = llm
        self._words = Vocabulary(lib, lib.llama_model_get_vocab(llm.model))
        self._n_vocab = self._words.n_vocab
        self._lock = threading.Lock()
        self.context_length = int(llm.n_ctx())
        self.memory_bytes = memory_bytes
        self.vram_bytes = vram_bytes
        self.n_threads = n_threads
        self.gpu_layers = 0

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Text to token ids; ``add_special`` adds CLS/SEP or BOS/EOS as the model's metadata says."""
        self._require_open()
        return self._words.tokenize(text, add_special, parse_special)

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids back to bytes."""
        self._require_open()
        return self._words.detokenize(tokens)

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        """Refused: the model was loaded for embeddings."""
        raise BadRequest("this model was loaded for embeddings and cannot generate")

    def embed(self, tokens: Sequence[int]) -> list[float]:
        """Pooled embedding of one token sequence, not normalized (mean of the token embeddings
        when the model defines no pooling)."""
        self._require_open()
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
                self._clear(llm)
                code = int(lib.llama_decode(ctx, batch))
                if code != 0:
                    raise CorralError(f"llama.cpp failed to compute the embedding (llama_decode {code})")
                return self._pooled(len(tokens))
            finally:
                lib.llama_batch_free(batch)
                self._clear(llm)

    def _clear(self, llm: Any) -> None:
        memory = self._lib.llama_get_memory(llm.ctx)
        if memory:
            self._lib.llama_memory_clear(memory, True)
        llm.n_tokens = 0

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

    def _require_open(self) -> Any:
        if self._llm is None:
            raise CorralError("the model has been unloaded")
        return self._llm

    def close(self) -> None:
        """Free the model and its context."""
        with self._lock:
            llm, self._llm = self._llm, None
            if llm is None:
                return
            llm.close()
            del llm
        gc.collect()
        release_freed_memory()
