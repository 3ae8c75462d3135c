"""OpenAI ``logit_bias`` as llama.cpp's logit-bias sampler (the first sampler of a chain)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["logit_bias_sampler"]


def logit_bias_sampler(lib: Any, n_vocab: int, bias: Mapping[int, float]) -> Any:
    """A new ``llama_sampler`` adding ``bias[token]`` to each listed token's logit, or None when
    ``bias`` is empty. The caller owns it (a chain frees the samplers added to it).

    llama.cpp copies the array while building the sampler, so the ctypes buffer may go afterwards.
    """
    if not bias:
        return None
    entries = (lib.llama_logit_bias * len(bias))(
        *(lib.llama_logit_bias(int(token), float(value)) for token, value in bias.items())
    )
    return lib.llama_sampler_init_logit_bias(n_vocab, len(bias), entries)
