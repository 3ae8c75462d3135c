"""The few ctransformers C functions the runner calls, with the checks the library leaves out.

ctransformers' Python ``LLM.tokenize`` sizes its output buffer by the text's length in characters,
so a text whose byte-fallback tokens outnumber its characters (any non-ASCII text) writes past the
buffer and crashes the process; here the buffer is sized by bytes. Token ids are checked against
the vocabulary before they reach C, which does not check them.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["NativeModel"]


class NativeModel:
    """One ctransformers model (``ctransformers.LLM``) behind a lock: calls never overlap, and
    :meth:`close` waits for the one in progress."""

    def __init__(self, path: str, model_type: str, *, context_length: int, threads: int, mmap: bool) -> None:
        """Load ``path`` as ``model_type`` (``gguf`` or a GGML architecture such as ``llama``).
        Raises ``RuntimeError``/``ValueError``/``OSError`` as ctransformers does."""
        from ctransformers import LLM
        from ctransformers.llm import Config

        config = Config(context_length=context_length, gpu_layers=0, mmap=mmap, threads=threads)
        self._llm: Any = LLM(path, model_type, config=config)
        self._lock = threading.Lock()
        self.threads = threads
        self.vocab_size: int = int(self._llm.ctransformers_llm_vocab_size())
        self.context_length: int = int(self._llm.ctransformers_llm_context_length())
        self.eos_id: int = int(self._llm.ctransformers_llm_eos_token_id())
        self.bos_id: int = int(self._llm.ctransformers_llm_bos_token_id())

    def _open(self) -> Any:
        if self._llm is None:
            raise RuntimeError("the model is closed")
        return self._llm

    def tokenize(self, data: bytes, add_bos: bool) -> list[int]:
        """Token ids of ``data`` (UTF-8), with BOS first when ``add_bos``."""
        # At most one token per byte, plus BOS (and one spare for the tokenizer's own prefix space).
        out = (ctypes.c_int * (len(data) + 2))()
        with self._lock:
            n = int(self._open().ctransformers_llm_tokenize(data, add_bos, out))
        return list(out[:n])

    def piece(self, token: int) -> bytes:
        """One token's bytes (empty for control tokens; a ``<0x00>`` byte token also reads as empty:
        the C function returns a NUL-terminated string)."""
        with self._lock:
            value = self._open().ctransformers_llm_detokenize(token)
        return bytes(value or b"")

    def is_eos(self, token: int) -> bool:
        """Whether ``token`` ends generation for this model."""
        with self._lock:
            return bool(self._open().ctransformers_llm_is_eos_token(token))

    def evaluate(self, tokens: Sequence[int], n_past: int, batch: int) -> None:
        """Run ``tokens`` at positions ``n_past...`` (the KV cache beyond ``n_past`` is overwritten)."""
        array = (ctypes.c_int * len(tokens))(*tokens)
        with self._lock:
            ok = self._open().ctransformers_llm_batch_eval(array, len(tokens), n_past, batch, self.threads)
        if not ok:
            raise RuntimeError("ctransformers failed to evaluate the tokens")

    def logits(self) -> NDArray[np.float32]:
        """A copy of the last evaluated position's logits."""
        with self._lock:
            llm = self._open()
            size = int(llm.ctransformers_llm_logits_size())
            data = llm.ctransformers_llm_logits_data()
            return np.ctypeslib.as_array(data, shape=(size,)).astype(np.float32, copy=True)

    def close(self) -> None:
        """Free the model (once; later calls do nothing)."""
        with self._lock:
            llm, self._llm = self._llm, None
            if llm is not None:
                llm.ctransformers_llm_delete()
                llm._llm = None  # LLM.__del__ would free it a second time
