"""Continuous batching over one llama.cpp context: slots, one decode loop, a prefix cache.

One thread runs the loop. Each step it builds a single ``llama_batch`` from the next token of every
decoding sequence plus chunks of waiting prompts (chunked prefill: while other sequences decode,
prompts get at most ``prefill_chunk`` tokens a step, so a long prompt never freezes them; alone,
``prefill_chunk_alone``, so a cancel is noticed within one chunk), calls
``llama_decode`` once, and samples every sequence that produced logits with its own sampler chain.
Sequences join and leave between steps.

Slots are llama.cpp sequence ids, each with ``n_ctx_seq`` cells of KV cache. A finished sequence's
tokens stay cached in its slot; a new request takes the free slot whose cached tokens share the
longest prefix with its prompt (llama-server's rule), and when another slot, busy or not, holds a
longer prefix (a shared system prompt, the other choices of an ``n > 1`` request), that slot's cache
is copied (``llama_memory_seq_cp``) instead of evaluated again. A cancelled sequence frees its slot
and its cells at once. A sequence that fills its context shifts it (keep ``num_keep``, drop the
oldest half of the rest) unless it asked not to, or holds an image.

Images (see :mod:`corral.backends.llamacpp.vision`) take one cell per embedding, marked with the
image's negative key. A prompt chunk stops before an image; at the start of the next step the
image's embeddings are evaluated into the sequence on their own (``llama_decode`` takes tokens or
embeddings, not both), then its text goes on. A cached prefix never ends inside an image.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corral.backends.llamacpp.context import NativeModel
from corral.backends.llamacpp.sampling import SamplerChain
from corral.backends.llamacpp.vision import ImageBlock, Projector, image_start
from corral.core.engine import GenerateParams, PromptStats, TokenLogprob, TokenOut
from corral.core.errors import CorralError
from corral.core.limits import keep_count

__all__ = ["BatchEngine", "Sequence"]

log = logging.getLogger(__name__)

END = object()
"""Put on a sequence's queue after its last token (or error)."""


@dataclass(eq=False)
class Sequence:
    """One generation inside the engine. ``out`` receives TokenOut, an exception, then END."""

    prompt: list[int]
    params: GenerateParams
    chain: SamplerChain
    cancel: threading.Event
    reuse_cache: bool
    out: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue)
    slot: Slot | None = None
    n_past: int = 0
    todo: list[int] = field(default_factory=list)
    next_token: int | None = None
    generated: int = 0
    cached: int = 0
    out_index: int = -1
    added: list[int] = field(default_factory=list)
    """Tokens placed in the current batch (their KV becomes the slot's once the step succeeds)."""
    raw_logits: bool = False
    """Hand over the prompt's last-position logits (a numpy copy) instead of sampling a token."""
    images: dict[int, ImageBlock] = field(default_factory=dict)
    """The prompt's images by the index of their first cell (closed when the sequence ends)."""


@dataclass(eq=False)
class Slot:
    """A llama.cpp sequence id and the tokens whose KV cells it holds, position by position."""

    id: int
    tokens: list[int] = field(default_factory=list)
    seq: Sequence | None = None
    last_used: float = 0.0


def common_prefix(a: list[int], b: list[int], limit: int) -> int:
    """Length of the common prefix of ``a`` and ``b``, at most ``limit``."""
    n = min(len(a), len(b), limit)
    if n <= 0:
        return 0
    diff = np.flatnonzero(np.asarray(a[:n], dtype=np.int64) != np.asarray(b[:n], dtype=np.int64))
    return int(diff[0]) if diff.size else n


class BatchEngine:
    """The decode loop of one loaded model. ``submit`` is thread-safe; everything else runs on
    the loop's thread, which alone touches the llama.cpp context."""

    def __init__(
        self,
        native: NativeModel,
        *,
        piece: Callable[[int], bytes],
        logprobs: Callable[[Any, int, int], tuple[TokenLogprob, tuple[TokenLogprob, ...]]],
        prefill_chunk: int = 64,
        prefill_chunk_alone: int = 256,
        projector: Projector | None = None,
    ) -> None:
        self._native = native
        self._lib = native.lib
        self._piece = piece
        self._logprobs = logprobs
        self._projector = projector
        self._n_batch = max(1, native.spec.n_batch)
        self._prefill_chunk = max(1, min(prefill_chunk, self._n_batch))
        # Alone, a prompt still goes in chunks, so that a cancel is seen within one chunk's time.
        self._prefill_chunk_alone = max(1, min(prefill_chunk_alone, self._n_batch))
        self.slots = [Slot(i) for i in range(native.n_seq)]
        self._waiting: list[Sequence] = []
        self._cond = threading.Condition()
        self._closing = False
        capacity = max(self._n_batch, native.n_seq)
        self._batch: Any = self._lib.llama_batch_init(capacity, 0, 1)
        self._capacity = capacity
        self._tok = np.ctypeslib.as_array(self._batch.token, shape=(capacity,))
        self._pos = np.ctypeslib.as_array(self._batch.pos, shape=(capacity,))
        self._nseq = np.ctypeslib.as_array(self._batch.n_seq_id, shape=(capacity,))
        self._logits = np.ctypeslib.as_array(self._batch.logits, shape=(capacity,))
        self._nseq[:] = 1
        self._thread = threading.Thread(target=self._loop, name="corral-llamacpp-batch", daemon=True)
        self._thread.start()

    # --- called from request threads --------------------------------------------------------

    def submit(self, seq: Sequence) -> None:
        """Queue ``seq``; its tokens arrive on ``seq.out``."""
        with self._cond:
            if self._closing:
                raise CorralError("the model has been unloaded")
            self._waiting.append(seq)
            self._cond.notify()

    def wake(self) -> None:
        """Make the loop look at its sequences now (a cancel was set)."""
        with self._cond:
            self._cond.notify()

    def kv_usage(self) -> tuple[int, int]:
        """Cells holding tokens (of running sequences, or cached for prefix reuse) over all slots,
        and the total."""
        used = sum(len(s.tokens) for s in self.slots)
        return used, self._native.n_ctx_seq * len(self.slots)

    def close(self) -> None:
        """Stop the loop (ending every sequence with an error) and free the batch."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout=60)
        if self._thread.is_alive():
            log.error("llama.cpp batch loop did not stop; its memory is not freed")
            return
        self._lib.llama_batch_free(self._batch)

    # --- the loop ------------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._closing and not self._waiting and not self._running():
                        self._cond.wait()
                    if self._closing:
                        break
                    self._admit()
                self._drop_cancelled()
                if self._running():
                    self._step()
        except BaseException as exc:  # never leave a client waiting forever
            log.exception("llama.cpp batch loop failed")
            self._fail_all(CorralError(f"llama.cpp failed: {exc}"))
            return
        self._fail_all(CorralError("the model has been unloaded"))

    def _running(self) -> list[Sequence]:
        return [s.seq for s in self.slots if s.seq is not None]

    def _fail_all(self, error: CorralError) -> None:
        with self._cond:
            pending, self._waiting = self._waiting, []
        for seq in pending + self._running():
            self._finish(seq, error=error, keep=False)

    def _admit(self) -> None:
        """Give waiting sequences free slots (called with the lock held)."""
        while self._waiting:
            free = [s for s in self.slots if s.seq is None]
            if not free:
                return
            seq = self._waiting.pop(0)
            if seq.cancel.is_set():  # gone before it started: free its sampler and images
                self._finish(seq, keep=False)
                continue
            self._place(seq, free)

    def _place(self, seq: Sequence, free: list[Slot]) -> None:
        """Put ``seq`` into the free slot with the longest cached prefix, copying a longer prefix
        from another slot when one holds it. At least the last prompt token is evaluated again,
        for fresh logits."""
        limit = len(seq.prompt) - 1 if seq.reuse_cache else 0
        scored = [(common_prefix(s.tokens, seq.prompt, limit), -s.last_used, s) for s in free]
        best, _, slot = max(scored, key=lambda x: (x[0], x[1]))
        mem, lib = self._native.memory, self._lib
        donor_len, donor = 0, None
        for other in self.slots:
            if other is not slot:
                n = common_prefix(other.tokens, seq.prompt, limit)
                if n > max(best, donor_len):
                    donor_len, donor = n, other
        if donor is not None and mem:
            # Cross-stream copies take the donor's whole stream; the tail is cut off afterwards.
            lib.llama_memory_seq_rm(mem, slot.id, -1, -1)
            lib.llama_memory_seq_cp(mem, donor.id, slot.id, -1, -1)
            slot.tokens = list(donor.tokens)
            best = donor_len
        best = image_start(seq.prompt, best)
        if best < len(slot.tokens):
            if not (mem and lib.llama_memory_seq_rm(mem, slot.id, best, -1)):
                lib.llama_memory_seq_rm(mem, slot.id, -1, -1)
                best = 0
            slot.tokens = slot.tokens[:best]
        seq.slot, slot.seq = slot, seq
        seq.n_past = seq.cached = best
        seq.todo = seq.prompt[best:]

    def _drop_cancelled(self) -> None:
        for seq in self._running():
            if seq.cancel.is_set():
                self._finish(seq, keep=False)

    def _step(self) -> None:
        lib = self._lib
        n = 0
        for seq in self._running():
            if seq.next_token is None and seq.todo and seq.todo[0] < 0:
                self._decode_image(seq)
        running = self._running()
        decoding = [s for s in running if s.next_token is not None]
        for seq in decoding:
            assert seq.slot is not None and seq.next_token is not None
            n = self._put(n, seq.next_token, seq.n_past, seq.slot.id, True)
            seq.out_index = n - 1
            seq.added = [seq.next_token]
        budget = min(self._n_batch - n, self._prefill_chunk if decoding else self._prefill_chunk_alone)
        for seq in running:
            if seq.next_token is not None or not seq.todo:
                continue
            if budget <= 0:
                seq.out_index, seq.added = -1, []
                continue
            chunk = seq.todo[:budget]
            if seq.images:  # stop before the next image
                chunk = chunk[: next((i for i, t in enumerate(chunk) if t < 0), len(chunk))]
                if not chunk:
                    seq.out_index, seq.added = -1, []
                    continue
            seq.todo = seq.todo[len(chunk) :]
            assert seq.slot is not None
            last = not seq.todo
            for i, token in enumerate(chunk):
                n = self._put(n, token, seq.n_past + i, seq.slot.id, last and i == len(chunk) - 1)
            seq.out_index = n - 1 if last else -1
            seq.added = chunk
            budget -= len(chunk)
        if n == 0:
            return
        self._batch.n_tokens = n
        code = int(lib.llama_decode(self._native.ctx, self._batch))
        if code != 0:
            self._decode_failed(code, running)
            return
        for seq in running:
            if seq.slot is None or not seq.added:
                continue
            seq.slot.tokens.extend(seq.added)
            seq.n_past += len(seq.added)
            seq.added = []
            if seq.out_index >= 0:
                self._sample(seq, seq.out_index)
                seq.out_index = -1

    def _decode_image(self, seq: Sequence) -> None:
        """Evaluate the image that starts ``seq``'s remaining prompt into its slot."""
        slot = seq.slot
        assert slot is not None
        block = seq.images.get(len(seq.prompt) - len(seq.todo))
        try:
            if block is None or self._projector is None:
                raise CorralError("llama.cpp: image cells without an image")
            n_past = self._projector.decode(self._native.ctx, block, seq.n_past, slot.id, self._n_batch)
        except CorralError as exc:
            if self._native.memory:
                self._lib.llama_memory_seq_rm(self._native.memory, slot.id, seq.n_past, -1)
            self._finish(seq, error=exc, keep=False)
            return
        slot.tokens.extend(seq.todo[: block.n_tokens])
        seq.todo = seq.todo[block.n_tokens :]
        seq.n_past = n_past

    def _put(self, n: int, token: int, pos: int, seq_id: int, logits: bool) -> int:
        self._tok[n] = token
        self._pos[n] = pos
        self._batch.seq_id[n][0] = seq_id
        self._logits[n] = 1 if logits else 0
        return n + 1

    def _decode_failed(self, code: int, running: list[Sequence]) -> None:
        """llama_decode refused the batch (1: no KV cells, <0: an error): the step's sequences
        fail, their cells are dropped, and the others are unaffected."""
        lib, mem = self._lib, self._native.memory
        for seq in running:
            if seq.slot is not None and seq.added and mem:
                lib.llama_memory_seq_rm(mem, seq.slot.id, seq.n_past, -1)
        error = CorralError(f"llama.cpp failed to evaluate tokens (llama_decode returned {code})")
        for seq in running:
            if seq.added:
                self._finish(seq, error=error, keep=False)

    def _sample(self, seq: Sequence, index: int) -> None:
        params = seq.params
        if seq.raw_logits:
            pointer = self._lib.llama_get_logits_ith(self._native.ctx, index)
            n_vocab = int(self._lib.llama_vocab_n_tokens(self._native.vocab))
            seq.out.put(np.ctypeslib.as_array(pointer, shape=(n_vocab,)).copy())
            self._finish(seq, keep=False)
            return
        try:
            token = seq.chain.sample(self._native.ctx, index)
        except CorralError as exc:  # a grammar that allows nothing
            self._finish(seq, error=exc, keep=True)
            return
        logprob: TokenLogprob | None = None
        top: tuple[TokenLogprob, ...] = ()
        if params.logprobs:
            logprob, top = self._logprobs(index, token, max(0, params.top_logprobs))
        stats = None
        if seq.generated == 0 and seq.next_token is None:
            stats = PromptStats(evaluated=len(seq.prompt) - seq.cached, cached=seq.cached)
        if self._lib.llama_vocab_is_eog(self._native.vocab, token):
            seq.out.put(TokenOut(token, self._piece(token), logprob, top, eog=True, prompt=stats))
            self._finish(seq, keep=True)
            return
        seq.generated += 1
        seq.out.put(TokenOut(token, self._piece(token), logprob, top, prompt=stats))
        if params.num_predict > 0 and seq.generated >= params.num_predict:
            self._finish(seq, keep=True)
            return
        if seq.n_past >= self._native.n_ctx_seq and not self._shift(seq):
            self._finish(seq, keep=True)
            return
        seq.next_token = token

    def _shift(self, seq: Sequence) -> bool:
        """Make room in a full context: keep ``num_keep`` tokens, drop the oldest half of the rest."""
        slot, lib, mem = seq.slot, self._lib, self._native.memory
        # Like llama-server, no shift with images: it could cut an image in two.
        if not seq.params.shift or not self._native.can_shift or slot is None or not mem or seq.images:
            return False
        keep = keep_count(seq.params.num_keep, len(seq.prompt), self._native.n_ctx_seq)
        discard = (seq.n_past - keep) // 2
        if discard <= 0:
            return False
        lib.llama_memory_seq_rm(mem, slot.id, keep, keep + discard)
        lib.llama_memory_seq_add(mem, slot.id, keep + discard, seq.n_past, -discard)
        slot.tokens = slot.tokens[:keep] + slot.tokens[keep + discard :]
        seq.n_past -= discard
        log.debug("context shift on slot %d: kept %d, dropped %d", slot.id, keep, discard)
        return True

    def _finish(self, seq: Sequence, *, error: BaseException | None = None, keep: bool) -> None:
        """End ``seq``: free its slot (keeping its cells as a prefix cache when ``keep``)."""
        slot = seq.slot
        if slot is not None:
            slot.seq, seq.slot = None, None
            slot.last_used = time.monotonic()
            if not keep:
                if self._native.memory:
                    self._lib.llama_memory_seq_rm(self._native.memory, slot.id, -1, -1)
                slot.tokens = []
        seq.chain.close()
        for block in seq.images.values():
            block.close()
        if error is not None:
            seq.out.put(error)
        seq.out.put(END)
