"""The numpy forward pass: llama-family and Gemma 3 transformer blocks over a preallocated KV cache.

Written for clarity first and speed second: every position of a chunk goes through each block
as one float32 matmul (BLAS), heads are batched with ``np.matmul`` (no Python loop over heads),
and only the positions asked for are projected onto the vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from corral.backends.cpu_ref.config import ModelConfig
from corral.backends.cpu_ref.weights import LayerWeights, ModelWeights

__all__ = ["Transformer"]

F32 = NDArray[np.float32]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SPLIT_MIN_WORK = 1 << 21
"""A matmul with fewer multiply-adds than this runs on the calling thread: splitting it would
cost more in hand-offs than it saves."""


class Transformer:
    """A loaded model with a KV cache for ``n_ctx`` positions (one sequence).

    :meth:`forward` appends tokens at a position and returns their final, normalized hidden
    states; :meth:`logits` projects hidden states onto the vocabulary. Not thread-safe: the
    runner serialises callers.
    """

    def __init__(self, weights: ModelWeights, n_ctx: int, threads: int = 1) -> None:
        c = weights.config
        self.threads = max(1, threads)
        # BLAS runs single-threaded (see corral.backends.cpu_ref.threads): large matmuls are split
        # by output rows over this pool instead; numpy releases the GIL inside BLAS.
        self._pool = ThreadPoolExecutor(self.threads, "cpu-ref") if self.threads > 1 else None
        self.weights = weights
        self.config: ModelConfig = c
        self.n_ctx = n_ctx
        # np.zeros is backed by calloc: pages are only committed once positions are written.
        self._k = np.zeros((c.n_layer, c.n_head_kv, n_ctx, c.head_dim_k), np.float32)
        self._v = np.zeros((c.n_layer, c.n_head_kv, n_ctx, c.head_dim_v), np.float32)
        half = c.rope_dims // 2
        exponents = -2.0 * np.arange(half, dtype=np.float64) / c.rope_dims
        inv_freq = np.power(np.float64(c.rope_base), exponents)
        inv_swa = np.power(np.float64(c.rope_base_swa), exponents)
        if weights.rope_factors is not None:
            inv_freq = inv_freq / weights.rope_factors[:half].astype(np.float64)
        self._inv_freq = inv_freq * c.rope_scale
        self._inv_freq_swa = inv_swa

    @property
    def kv_bytes(self) -> int:
        """Bytes reserved for the KV cache."""
        return int(self._k.nbytes + self._v.nbytes)

    def forward(self, tokens: Sequence[int], start: int) -> F32:
        """Run ``tokens`` at positions ``start…`` (positions before ``start`` must already be in
        the cache) and return their final hidden states, shape ``(len(tokens), n_embd)``."""
        c = self.config
        n = len(tokens)
        if start < 0 or start + n > self.n_ctx:
            raise ValueError(f"positions {start}..{start + n} exceed the context of {self.n_ctx}")
        x = self.weights.token_embd[np.asarray(tokens, dtype=np.int64)]
        if c.embed_scale != 1.0:
            x = x * np.float32(c.embed_scale)
        positions = np.arange(start, start + n, dtype=np.float64)
        rope = _rope_tables(positions, self._inv_freq)
        rope_swa = _rope_tables(positions, self._inv_freq_swa) if c.swa_layers else rope
        for i, layer in enumerate(self.weights.layers):
            swa = i in c.swa_layers
            x = self._block(i, layer, x, start, rope_swa if swa else rope, swa)
        return _rms_norm(x, self.weights.output_norm, c.norm_eps)

    def close(self) -> None:
        """Stop the matmul thread pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def _mm(self, x: F32, w: F32) -> F32:
        """``x @ w.T`` for ``w`` shaped ``(out, in)``, split by output rows over the pool when big."""
        pool = self._pool
        if pool is None or x.shape[0] * w.size < _SPLIT_MIN_WORK:
            out: F32 = x @ w.T
            return out
        result = np.empty((x.shape[0], w.shape[0]), dtype=np.float32)
        bounds = np.linspace(0, w.shape[0], self.threads + 1).astype(int)

        def part(i: int) -> None:
            lo, hi = bounds[i], bounds[i + 1]
            np.matmul(x, w[lo:hi].T, out=result[:, lo:hi])

        for future in [pool.submit(part, i) for i in range(self.threads)]:
            future.result()
        return result

    def logits(self, hidden: F32) -> F32:
        """Vocabulary logits for hidden states ``(n, n_embd)`` → ``(n, n_vocab)``."""
        out = self._mm(hidden, self.weights.output)
        cap = self.config.final_softcap
        if cap > 0.0:
            out = (np.tanh(out / np.float32(cap)) * np.float32(cap)).astype(np.float32)
        return out

    def _block(
        self, index: int, w: LayerWeights, x: F32, start: int, rope: tuple[F32, F32], swa: bool
    ) -> F32:
        c = self.config
        n = x.shape[0]
        h = _rms_norm(x, w.attn_norm, c.norm_eps)
        qkv = self._mm(h, w.wqkv)
        if w.bqkv is not None:
            qkv += w.bqkv
        nq, nk = c.n_head * c.head_dim_k, c.n_head_kv * c.head_dim_k
        q = qkv[:, :nq].reshape(n, c.n_head, c.head_dim_k)
        k = qkv[:, nq : nq + nk].reshape(n, c.n_head_kv, c.head_dim_k)
        v = qkv[:, nq + nk :].reshape(n, c.n_head_kv, c.head_dim_v)
        if w.q_norm is not None:
            q = _rms_norm(q, w.q_norm, c.norm_eps)
        if w.k_norm is not None:
            k = _rms_norm(k, w.k_norm, c.norm_eps)
        q = _apply_rope(q, rope, c.rope_dims, c.rope_neox)
        k = _apply_rope(k, rope, c.rope_dims, c.rope_neox)
        end = start + n
        self._k[index, :, start:end] = k.transpose(1, 0, 2)
        self._v[index, :, start:end] = v.transpose(1, 0, 2)
        attn = self._attention(index, q, start, swa)
        out = self._mm(attn, w.wo)
        if w.post_attn_norm is not None:
            out = _rms_norm(out, w.post_attn_norm, c.norm_eps)
        x = x + out
        h = _rms_norm(x, w.ffn_norm, c.norm_eps)
        gate_up = self._mm(h, w.w_gate_up)
        gate, up = gate_up[:, : c.n_ff], gate_up[:, c.n_ff :]
        act: F32 = _gelu_tanh(gate) if c.gelu else _silu(gate)
        out = self._mm(act * up, w.w_down)
        if w.post_ffn_norm is not None:
            out = _rms_norm(out, w.post_ffn_norm, c.norm_eps)
        result: F32 = x + out
        return result

    def _attention(self, index: int, q: F32, start: int, swa: bool) -> F32:
        """Causal (and, on sliding-window layers, windowed) attention of ``q`` over the cache."""
        c = self.config
        n = q.shape[0]
        end = start + n
        lo = max(0, start - c.sliding_window + 1) if swa else 0
        keys = self._k[index, :, lo:end]  # (n_kv, L, d)
        values = self._v[index, :, lo:end]
        group = c.n_head // c.n_head_kv
        # Query head h reads KV head h // group, as llama.cpp groups them.
        grouped = q.reshape(n, c.n_head_kv, group, c.head_dim_k).transpose(1, 2, 0, 3)
        qg = grouped.reshape(c.n_head_kv, group * n, c.head_dim_k)
        scores = np.matmul(qg, keys.transpose(0, 2, 1))  # (n_kv, group*n, L)
        scores *= np.float32(c.attn_scale)
        scores = scores.reshape(c.n_head_kv, group, n, end - lo)
        if n > 1 or lo > 0:
            q_pos = np.arange(start, end)[:, None]
            k_pos = np.arange(lo, end)[None, :]
            masked = k_pos > q_pos
            if swa:
                masked |= q_pos - k_pos >= c.sliding_window
            scores[..., masked] = -np.inf
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        probs = scores.reshape(c.n_head_kv, group * n, end - lo)
        ctx = np.matmul(probs, values)  # (n_kv, group*n, d_v)
        ctx = ctx.reshape(c.n_head_kv, group, n, c.head_dim_v).transpose(2, 0, 1, 3)
        result: F32 = np.ascontiguousarray(ctx).reshape(n, c.n_head * c.head_dim_v)
        return result


def _rms_norm(x: F32, weight: F32, eps: float) -> F32:
    """RMSNorm over the last axis. GGUF norm weights are used as stored: for Gemma, llama.cpp's
    converter has already added Gemma's ``1 +`` to them."""
    ms = np.mean(np.square(x), axis=-1, keepdims=True, dtype=np.float32)
    out = x * (np.float32(1.0) / np.sqrt(ms + np.float32(eps))) * weight
    return out.astype(np.float32, copy=False)


def _rope_tables(positions: NDArray[np.float64], inv_freq: NDArray[np.float64]) -> tuple[F32, F32]:
    angles = positions[:, None] * inv_freq[None, :]
    return np.cos(angles).astype(np.float32)[:, None, :], np.sin(angles).astype(np.float32)[:, None, :]


def _apply_rope(x: F32, rope: tuple[F32, F32], dims: int, neox: bool) -> F32:
    """Rotate the first ``dims`` features of each head of ``x`` ``(n, heads, head_dim)``: as
    pairs of halves (NEOX) or of adjacent features (llama.cpp's normal mode)."""
    cos, sin = rope
    half = dims // 2
    out = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:dims]
        out[..., :half] = a * cos - b * sin
        out[..., half:dims] = b * cos + a * sin
    else:
        a, b = x[..., 0:dims:2], x[..., 1:dims:2]
        out[..., 0:dims:2] = a * cos - b * sin
        out[..., 1:dims:2] = b * cos + a * sin
    return out


def _silu(x: F32) -> F32:
    out = x / (np.float32(1.0) + np.exp(-x))
    return out.astype(np.float32, copy=False)


def _gelu_tanh(x: F32) -> F32:
    inner = np.float32(_SQRT_2_OVER_PI) * (x + np.float32(0.044715) * x * x * x)
    out = np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner))
    return out.astype(np.float32, copy=False)
