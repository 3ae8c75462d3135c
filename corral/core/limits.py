"""Length rules, in one place: fitting a prompt to the context and how many tokens may be generated.

Ollama's meaning, applied by the core for every backend (runners never truncate):

* **Prompt longer than the context** (``len > num_ctx``): with ``truncate`` (the default) keep the
  first ``num_keep`` tokens (-1: the whole prompt, capped at ``num_ctx - 1``) and the newest rest,
  dropping the oldest tokens after them; with ``truncate: false`` refuse it with 400
  ``the input length exceeds the context length``.
* **num_predict**: a positive value is the limit. -1 (unlimited), -2 (fill the context) and 0 are
  bounded, as in Ollama's server, at ten times ``num_ctx``, so a model that never emits an end
  token cannot run forever (with context shift it otherwise would). Larger values are capped the
  same way.
* **Context full while generating**: a runner with the ``context_shift`` capability keeps the
  first ``num_keep`` tokens, drops the oldest half of the rest and goes on, unless the request
  says ``shift: false``; otherwise generation ends with ``done_reason: "length"``.
"""

from __future__ import annotations

from collections.abc import Sequence

from corral.core.errors import BadRequest

__all__ = ["INPUT_TOO_LONG", "fit_prompt", "keep_count", "token_limit"]

INPUT_TOO_LONG = "the input length exceeds the context length"

_RUNAWAY_FACTOR = 10


def keep_count(num_keep: int, prompt_len: int, n_ctx: int) -> int:
    """Tokens at the start of a sequence that truncation and context shift never drop."""
    keep = prompt_len if num_keep < 0 else num_keep
    return max(0, min(keep, prompt_len, n_ctx - 1))


def fit_prompt(tokens: Sequence[int], n_ctx: int, num_keep: int, *, truncate: bool) -> tuple[list[int], int]:
    """The prompt as the runner gets it, and how many tokens were dropped.

    Linear in the prompt's length. Raises :class:`BadRequest` when it does not fit and ``truncate``
    is off.
    """
    if len(tokens) <= n_ctx:
        return list(tokens), 0
    if not truncate:
        raise BadRequest(INPUT_TOO_LONG)
    keep = keep_count(num_keep, len(tokens), n_ctx)
    dropped = len(tokens) - n_ctx
    return [*tokens[:keep], *tokens[keep + dropped :]], dropped


def token_limit(num_predict: int, n_ctx: int) -> int:
    """Tokens a generation may produce at most (always positive)."""
    runaway = _RUNAWAY_FACTOR * max(1, n_ctx)
    return runaway if num_predict <= 0 else min(num_predict, runaway)
