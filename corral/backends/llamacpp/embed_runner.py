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
    """Embeddings under a lock: one input (:meth:`embed`) or many packed into shared batches of
    sequences (:meth:`embed_many`, which the core uses for a request with several inputs)."""

    backend = "llamacpp"
    capabilities = RunnerCapabilities(sequences=1, embeddings=True)

    def __init__(self, lib: Any, llm: Any, *, memory_bytes: int, vram_bytes: int, n_threads: int) -> None:
        self._lib = lib
        self._llm: Any = llm
        self._words = Vocabulary(lib, lib.llama_model_get_vocab(llm.model))
        self._n_vocab = self._words.n_vocab
        self._lock = threading.Lock()
        # llama.cpp pads n_ctx (to 256) but not n_batch, and one llama_decode takes at most n_batch
        # tokens (more is a GGML_ASSERT, which aborts the process): inputs are bounded by both.
        self.context_length = min(int(llm.n_ctx()), int(lib.llama_n_batch(llm.ctx)))
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
        return self.embed_many([tokens])[0]

    def embed_many(self, inputs: Sequence[Sequence[int]]) -> list[list[float]]:
        """Pooled embeddings of several token sequences, packed as sequences of shared batches (as
        many inputs per ``llama_decode`` as fit in the context), in input order."""
        self._require_open()
        for tokens in inputs:
            if not tokens:
                raise BadRequest("the input is empty")
            check_token_ids(tokens, self._n_vocab)
            if len(tokens) > self.context_length:
                raise BadRequest("the input length exceeds the context length")
        lib = self._lib
        out: list[list[float]] = []
        with self._lock:
            llm = self._require_open()
            max_seqs = max(1, int(lib.llama_n_seq_max(llm.ctx)))
            batch = lib.llama_batch_init(self.context_length, 0, 1)
            try:
                start = 0
                while start < len(inputs):
                    group: list[Sequence[int]] = []
                    used = 0
                    while (
                        start + len(group) < len(inputs)
                        and len(group) < max_seqs
                        and used + len(inputs[start + len(group)]) <= self.context_length
                    ):
                        used += len(inputs[start + len(group)])
                        group.append(inputs[start + len(group)])
                    out.extend(self._embed_group(llm, batch, group))
                    start += len(group)
            finally:
                lib.llama_batch_free(batch)
                self._clear(llm)
        return out

    def _embed_group(self, llm: Any, batch: Any, group: list[Sequence[int]]) -> list[list[float]]:
        lib = self._lib
        n = 0
        for seq_id, tokens in enumerate(group):
            for pos, token in enumerate(tokens):
                batch.token[n] = token
                batch.pos[n] = pos
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq_id
                batch.logits[n] = True
                n += 1
        batch.n_tokens = n
        self._clear(llm)
        code = int(lib.llama_decode(llm.ctx, batch))
        if code != 0:
            raise CorralError(f"llama.cpp failed to compute the embeddings (llama_decode {code})")
        n_embd = int(lib.llama_model_n_embd_out(llm.model))
        if int(lib.llama_pooling_type(llm.ctx)) == lib.LLAMA_POOLING_TYPE_NONE:
            rows = np.ctypeslib.as_array(lib.llama_get_embeddings(llm.ctx), shape=(n, n_embd))
            vectors, offset = [], 0
            for tokens in group:
                block = rows[offset : offset + len(tokens)].astype(np.float64)
                vectors.append([float(x) for x in block.mean(axis=0)])
                offset += len(tokens)
            return vectors
        vectors = []
        for seq_id in range(len(group)):
            pointer = lib.llama_get_embeddings_seq(llm.ctx, seq_id)
            if not pointer:
                raise CorralError("llama.cpp returned no pooled embedding")
            vectors.append([float(x) for x in np.ctypeslib.as_array(pointer, shape=(n_embd,))])
        return vectors

    def _clear(self, llm: Any) -> None:
        memory = self._lib.llama_get_memory(llm.ctx)
        if memory:
            self._lib.llama_memory_clear(memory, True)
        llm.n_tokens = 0

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
