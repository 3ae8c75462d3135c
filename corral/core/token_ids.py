"""Checking token ids from a request (``context``, detokenize input) against a runner's vocabulary,
with the 400 messages every backend shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from corral.core.errors import BadRequest

__all__ = ["check_token_ids"]


def check_token_ids(tokens: Sequence[int], n_vocab: int) -> None:
    """Raise :class:`BadRequest` unless every id is an integer in ``[0, n_vocab)``."""
    if not tokens:
        return
    try:
        ids = np.asarray(tokens, dtype=np.int64)
    except (OverflowError, TypeError, ValueError) as exc:
        raise BadRequest(f"invalid token ids: {exc}") from exc
    bad = ids[(ids < 0) | (ids >= n_vocab)]
    if bad.size:
        raise BadRequest(f"invalid token id {int(bad[0])}: the vocabulary has {n_vocab} tokens")
