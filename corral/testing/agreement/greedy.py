"""Greedy agreement: the first ``n`` greedily decoded tokens of two backends, compared.

Exact identity is the goal, but it is only guaranteed when no step has two candidates closer
than the backends' logit difference (see :mod:`corral.testing.agreement.logits`). So when the
sequences diverge and both runners can provide logits, the report also gives the reference's
gap between its own pick and the other runner's pick at the first divergence: a gap within the
logits tolerance is a near-tie explained by arithmetic precision, a large gap is a bug.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from corral.core.engine import GenerateParams, SamplingOptions
from corral.testing.agreement.logits import LogitsProvider, logits_provider

__all__ = ["GreedyReport", "compare_greedy", "greedy_tokens"]

GREEDY = SamplingOptions(temperature=0.0, top_k=0, top_p=1.0, repeat_penalty=1.0, seed=0)
"""Plain argmax decoding. The seed only makes the llamacpp runner evaluate from scratch."""


@dataclass(frozen=True)
class GreedyReport:
    """Two greedy continuations of the same prompt."""

    prompt_tokens: tuple[int, ...]
    tokens_a: tuple[int, ...]
    tokens_b: tuple[int, ...]
    first_divergence: int | None
    """Index of the first differing token, or None when the sequences are identical."""
    gap_at_divergence: float | None = None
    """At the first divergence, ``logit_b[pick_b] - logit_b[pick_a]`` in runner b's logits
    (how close a tie b saw), when both runners provide logits."""

    @property
    def identical(self) -> bool:
        """Whether both runners produced exactly the same tokens."""
        return self.first_divergence is None

    @property
    def agreement(self) -> float:
        """Fraction of the compared positions before the first divergence."""
        n = max(len(self.tokens_a), len(self.tokens_b), 1)
        return 1.0 if self.first_divergence is None else self.first_divergence / n


def greedy_tokens(runner: Any, prompt_tokens: Sequence[int], n: int) -> list[int]:
    """Up to ``n`` greedy tokens from ``runner`` (an end-of-generation token included, last)."""
    params = GenerateParams(prompt_tokens=list(prompt_tokens), sampling=GREEDY, num_predict=n)
    return [out.id for out in runner.generate(params, threading.Event())]


def compare_greedy(runner_a: Any, runner_b: Any, prompt: str | Sequence[int], n: int = 32) -> GreedyReport:
    """Greedily decode ``n`` tokens with both runners and report where they first differ.

    ``prompt`` is text (tokenized by ``runner_a``, so both runners start from the same ids) or
    token ids. ``runner_b`` is the reference.
    """
    tokens = runner_a.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
    seq_a = greedy_tokens(runner_a, tokens, n)
    seq_b = greedy_tokens(runner_b, tokens, n)
    divergence = next((i for i, (x, y) in enumerate(zip(seq_a, seq_b, strict=False)) if x != y), None)
    if divergence is None and len(seq_a) != len(seq_b):
        divergence = min(len(seq_a), len(seq_b))
    gap = None
    if divergence is not None and divergence < min(len(seq_a), len(seq_b)):
        gap = _gap(runner_b, tokens + seq_b[:divergence], seq_a[divergence], seq_b[divergence])
    return GreedyReport(tuple(tokens), tuple(seq_a), tuple(seq_b), divergence, gap)


def _gap(runner_b: Any, context: list[int], pick_a: int, pick_b: int) -> float | None:
    try:
        provider: LogitsProvider = logits_provider(runner_b)
    except TypeError:
        return None
    logits = np.asarray(provider.logits(context), dtype=np.float64)
    return float(logits[pick_b] - logits[pick_a])
