"""Pure helpers of the llama.cpp backend: seeds, logprob arithmetic, prompt fitting, host sizing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from corral.backends.llamacpp._host import estimate_memory, physical_cores
from corral.backends.llamacpp.sampling import sampler_seed
from corral.core.sampling import token_logprobs


def test_sampler_seed_maps_ollama_seeds_to_32_bits() -> None:
    assert sampler_seed(0) == 0
    assert sampler_seed(42) == 42
    assert sampler_seed(2**32 + 5) == 5
    # 0xFFFFFFFF means "random" to llama.cpp, so a user's seed never becomes it.
    assert sampler_seed(0xFFFFFFFF) == 0xFFFFFFFE
    randoms = {sampler_seed(-1) for _ in range(20)}
    assert len(randoms) > 1 and all(0 <= s < 0xFFFFFFFF for s in randoms)


def test_logprobs_are_a_log_softmax_with_sorted_alternatives() -> None:
    logits = np.array([1.0, 3.0, 2.0, -1.0], dtype=np.float32)
    pieces = {0: b"a", 1: b"b", 2: b"c", 3: b"\xe2\x9c"}  # the last is half a UTF-8 character
    chosen, top = token_logprobs(logits, 2, 3, pieces.__getitem__)
    log_z = math.log(sum(math.exp(x) for x in (1.0, 3.0, 2.0, -1.0)))
    assert chosen.logprob == pytest.approx(2.0 - log_z)
    assert (chosen.token, chosen.bytes) == ("c", b"c")
    assert [t.bytes for t in top] == [b"b", b"c", b"a"]
    assert [t.logprob for t in top] == pytest.approx([3.0 - log_z, 2.0 - log_z, 1.0 - log_z])
    odd, _ = token_logprobs(logits, 3, 0, pieces.__getitem__)
    assert odd.token == "\ufffd" and odd.bytes == b"\xe2\x9c"


def test_logprobs_survive_extreme_logits() -> None:
    logits = np.array([1000.0, -1000.0, 999.0], dtype=np.float32)
    chosen, top = token_logprobs(logits, 0, 5, lambda t: bytes([65 + t]))
    assert math.isfinite(chosen.logprob) and chosen.logprob == pytest.approx(-math.log1p(math.exp(-1)))
    assert len(top) == 3  # capped at the vocabulary


def test_physical_cores_is_a_sane_count() -> None:
    import os

    assert 1 <= physical_cores() <= (os.cpu_count() or 1)


def test_memory_estimate_grows_with_the_context() -> None:
    args = dict(
        weights_bytes=1000, n_ubatch=512, n_layer=2, n_head=4, n_head_kv=2, key_length=16, value_length=16
    )
    small = estimate_memory(n_ctx=256, n_vocab=100, **args)
    large = estimate_memory(n_ctx=512, n_vocab=100, **args)
    kv_per_token = 2 * 2 * (16 + 16) * 2  # layers * kv heads * (k + v) * f16
    scores_per_token = 512 * 4 * 4  # micro-batch * heads * f32
    assert large - small == 256 * (kv_per_token + scores_per_token)
    assert small > 1000
