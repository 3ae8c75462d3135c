"""The one length rule (corral.core.limits): prompt fitting, num_keep, num_predict limits."""

from __future__ import annotations

import pytest

from corral.core.errors import BadRequest
from corral.core.limits import INPUT_TOO_LONG, fit_prompt, keep_count, token_limit


def test_a_prompt_that_fits_is_unchanged() -> None:
    tokens = list(range(20))
    assert fit_prompt(tokens, 32, 4, truncate=True) == (tokens, 0)
    assert fit_prompt(tokens, 20, 4, truncate=False) == (tokens, 0)  # exactly full still fits


def test_truncation_keeps_num_keep_and_the_newest_tokens() -> None:
    tokens = list(range(20))
    assert fit_prompt(tokens, 10, 3, truncate=True) == ([0, 1, 2, 13, 14, 15, 16, 17, 18, 19], 10)
    # num_keep -1 keeps the whole prompt, capped so that at least one token can go.
    assert fit_prompt(tokens, 10, -1, truncate=True) == ([*range(9), 19], 10)
    assert fit_prompt(tokens, 10, 50, truncate=True) == ([*range(9), 19], 10)
    assert fit_prompt(tokens, 10, 0, truncate=True) == (tokens[10:], 10)


def test_truncate_false_refuses_a_prompt_that_does_not_fit() -> None:
    with pytest.raises(BadRequest) as err:
        fit_prompt(list(range(11)), 10, 4, truncate=False)
    assert err.value.message == INPUT_TOO_LONG and err.value.status == 400


def test_keep_count_bounds() -> None:
    assert keep_count(4, 100, 50) == 4
    assert keep_count(-1, 30, 50) == 30
    assert keep_count(-1, 100, 50) == 49
    assert keep_count(10, 3, 50) == 3


@pytest.mark.parametrize(
    ("num_predict", "limit"), [(5, 5), (0, 1000), (-1, 1000), (-2, 1000), (10**9, 1000)]
)
def test_token_limit_follows_ollama(num_predict: int, limit: int) -> None:
    assert token_limit(num_predict, 100) == limit
