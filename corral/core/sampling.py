"""Token selection in numpy for backends that compute their own logits (cpu-ref, ONNX).

:class:`Sampler` applies Ollama's sampling options in the order of the llama.cpp sampler chain
that the llamacpp backend builds, with the same semantics per step, so that a backend using it
samples from the same distribution llama.cpp would:

logit_bias → penalties (over the last ``repeat_last_n`` accepted tokens) → top_k → typical_p → top_p →
min_p → temperature → a draw from a ``numpy.random.Generator`` seeded with ``seed`` (a random
seed when -1). With ``temperature <= 0`` the chain is logit_bias → penalties → argmax (exactly
``np.argmax``: the first maximum, as llama.cpp's greedy sampler picks it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from corral.core.engine import SamplingOptions, TokenLogprob

if TYPE_CHECKING:
    from corral.core.constrain import OutputConstraint

__all__ = ["LogitBias", "Sampler", "token_logprobs"]


class LogitBias:
    """OpenAI's ``logit_bias`` as llama.cpp's logit-bias sampler applies it: each value is added to
    its token's logit, first in the chain (before the penalties)."""

    def __init__(self, bias: Mapping[int, float]) -> None:
        self.ids = np.fromiter(bias.keys(), dtype=np.intp, count=len(bias))
        self.values = np.fromiter(bias.values(), dtype=np.float32, count=len(bias))

    def __bool__(self) -> bool:
        return bool(self.ids.size)

    def apply(self, logits: NDArray[np.float32]) -> NDArray[np.float32]:
        """A biased copy of one position's logits (the input is left as it is)."""
        out = np.array(logits, dtype=np.float32, copy=True).reshape(-1)
        np.add.at(out, self.ids, self.values)
        return out


class Sampler:
    """One generation's sampler: call :meth:`sample` with each position's logits, then
    :meth:`accept` with the token actually emitted (it feeds the repetition penalties)."""

    def __init__(
        self,
        options: SamplingOptions,
        vocab_size: int,
        logit_bias: Mapping[int, float] | None = None,
        constraint: OutputConstraint | None = None,
    ) -> None:
        self.options = options
        self.vocab_size = vocab_size
        self._bias = LogitBias(logit_bias or {})
        self._constraint = constraint
        o = options
        self._penalize = o.repeat_last_n != 0 and (
            o.repeat_penalty != 1.0 or o.frequency_penalty != 0.0 or o.presence_penalty != 0.0
        )
        # repeat_last_n < 0 means the whole context: an unbounded history.
        self._history: deque[int] = deque(maxlen=o.repeat_last_n if o.repeat_last_n > 0 else None)
        seed = None if o.seed < 0 else o.seed
        self._rng = np.random.default_rng(seed)

    def accept(self, token_id: int) -> None:
        """Remember an emitted token for the repetition, presence and frequency penalties."""
        if self._penalize:
            self._history.append(int(token_id))

    def sample(self, logits: NDArray[np.float32]) -> int:
        """Pick a token from one position's raw logits (not modified in place). With an output
        constraint, only tokens its grammar allows can be picked, and the pick advances it."""
        x = np.asarray(logits, dtype=np.float32).reshape(-1)
        if self._bias:
            x = self._bias.apply(x)
        if self._constraint is None:
            return self._pick(x)
        token = self._pick(self._constraint.mask(x))
        self._constraint.consume(token)
        return token

    def _pick(self, x: NDArray[np.float32]) -> int:
        o = self.options
        if self._penalize and self._history:
            x = self._apply_penalties(x)
        if o.temperature <= 0.0:
            return int(np.argmax(x))
        ids = _top_k(x, o.top_k)
        values = x[ids].astype(np.float64)
        ids, values = _typical(ids, values, o.typical_p)
        ids, values = _top_p(ids, values, o.top_p)
        ids, values = _min_p(ids, values, o.min_p)
        probs = _softmax(values / o.temperature)
        cumulative = np.cumsum(probs)
        pick = int(np.searchsorted(cumulative, self._rng.random() * cumulative[-1], side="right"))
        return int(ids[min(pick, ids.shape[0] - 1)])

    def _apply_penalties(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        o = self.options
        out = x.copy()
        tokens, counts = np.unique(np.fromiter(self._history, dtype=np.int64), return_counts=True)
        valid = (tokens >= 0) & (tokens < out.shape[0])
        tokens, counts = tokens[valid], counts[valid]
        current = out[tokens]
        penalized = np.where(
            current <= 0, current * np.float32(o.repeat_penalty), current / np.float32(o.repeat_penalty)
        )
        penalized -= counts.astype(np.float32) * np.float32(o.frequency_penalty) + np.float32(
            o.presence_penalty
        )
        out[tokens] = penalized
        return out


def _top_k(x: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """Token ids of the ``k`` largest logits (all when ``k <= 0``), sorted by logit descending."""
    n = x.shape[0]
    if 0 < k < n:
        ids = np.argpartition(-x, k - 1)[:k]
        return ids[np.argsort(-x[ids], kind="stable")]
    return np.argsort(-x, kind="stable")


def _softmax(values: NDArray[np.float64]) -> NDArray[np.float64]:
    e = np.exp(values - values.max())
    out: NDArray[np.float64] = e / e.sum()
    return out


Candidates = tuple[NDArray[np.intp], NDArray[np.float64]]


def _typical(ids: NDArray[np.intp], values: NDArray[np.float64], p: float) -> Candidates:
    """Locally typical sampling: keep the tokens whose surprise is closest to the entropy until
    their mass exceeds ``p`` (llama.cpp's ``typical`` with ``min_keep = 1``)."""
    if p >= 1.0:
        return ids, values
    probs = _softmax(values)
    entropy = -float(np.sum(probs * np.log(np.where(probs > 0, probs, 1.0))))
    with np.errstate(divide="ignore"):
        shifted = np.abs(-np.log(probs) - entropy)
    order = np.argsort(shifted, kind="stable")
    cumulative = np.cumsum(probs[order])
    above = np.flatnonzero(cumulative > p)
    last = int(above[0]) + 1 if above.size else order.shape[0]
    keep = order[:last]
    # Back to logit order for the steps after this one.
    keep = keep[np.argsort(-values[keep], kind="stable")]
    return ids[keep], values[keep]


def _top_p(ids: NDArray[np.intp], values: NDArray[np.float64], p: float) -> Candidates:
    """Nucleus sampling: the smallest prefix (by probability) whose mass reaches ``p``."""
    if p >= 1.0:
        return ids, values
    cumulative = np.cumsum(_softmax(values))
    reached = np.flatnonzero(cumulative >= p)
    last = int(reached[0]) + 1 if reached.size else ids.shape[0]
    return ids[:last], values[:last]


def _min_p(ids: NDArray[np.intp], values: NDArray[np.float64], p: float) -> Candidates:
    """Keep tokens at least ``p`` times as likely as the most likely one (at least one)."""
    if p <= 0.0 or ids.shape[0] == 0:
        return ids, values
    keep = values >= values[0] + np.log(p)
    keep[0] = True
    return ids[keep], values[keep]


def token_logprobs(
    logits: NDArray[np.float32] | np.ndarray[Any, Any],
    token_id: int,
    top_n: int,
    piece: Callable[[int], bytes],
) -> tuple[TokenLogprob, tuple[TokenLogprob, ...]]:
    """Log-probability of ``token_id`` and the ``top_n`` most likely tokens, from one position's
    raw logits: the model's own distribution (log-softmax), before penalties or temperature, as
    Ollama reports it. ``piece`` gives a token's bytes."""
    values = np.asarray(logits).reshape(-1).astype(np.float64)
    peak = float(values.max())
    log_z = peak + float(np.log(np.exp(values - peak).sum()))

    def entry(tid: int) -> TokenLogprob:
        raw = piece(tid)
        logprob = float(values[tid]) - log_z
        return TokenLogprob(token=raw.decode("utf-8", "replace"), logprob=logprob, bytes=raw)

    top: tuple[TokenLogprob, ...] = ()
    if top_n > 0:
        n = min(top_n, values.shape[0])
        best = np.argpartition(-values, n - 1)[:n]
        best = best[np.argsort(-values[best], kind="stable")]
        top = tuple(entry(int(t)) for t in best)
    return entry(token_id), top
