"""corral.core.sampling: the numpy sampler shared by cpu-ref and ONNX, step by step."""

from __future__ import annotations

import math

import numpy as np

from corral.core.engine import SamplingOptions
from corral.core.sampling import Sampler, token_logprobs

LOGITS = np.array([1.0, 3.0, 2.0, 3.0, -1.0, 0.5], dtype=np.float32)


def draws(options: SamplingOptions, logits: np.ndarray, n: int = 400) -> list[int]:
    sampler = Sampler(options, logits.shape[0])
    return [sampler.sample(logits) for _ in range(n)]


def test_greedy_is_exactly_argmax_first_maximum() -> None:
    sampler = Sampler(SamplingOptions(temperature=0.0), 6)
    assert sampler.sample(LOGITS) == 1 == int(np.argmax(LOGITS))
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.standard_normal(1000).astype(np.float32)
        assert sampler.sample(x) == int(np.argmax(x))


def test_top_k_one_and_min_p_one_keep_only_the_best() -> None:
    assert set(draws(SamplingOptions(temperature=1.0, top_k=1), LOGITS, 50)) == {1}
    distinct = np.array([0.0, 5.0, 4.9, 1.0], dtype=np.float32)
    assert set(draws(SamplingOptions(temperature=1.0, top_k=0, top_p=1.0, min_p=1.0), distinct, 50)) == {1}


def test_top_k_restricts_to_the_k_largest() -> None:
    seen = set(draws(SamplingOptions(temperature=5.0, top_k=3, top_p=1.0, seed=1), LOGITS))
    assert seen == {1, 2, 3}


def test_top_p_keeps_the_smallest_prefix_reaching_p() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], dtype=np.float32))
    seen = set(draws(SamplingOptions(temperature=1.0, top_k=0, top_p=0.75, seed=2), logits))
    assert seen == {0, 1}  # 0.5 < 0.75 <= 0.8


def test_min_p_drops_tokens_below_p_times_the_best() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], dtype=np.float32))
    seen = set(draws(SamplingOptions(temperature=1.0, top_k=0, top_p=1.0, min_p=0.25, seed=3), logits))
    assert seen == {0, 1, 2}  # 0.05 < 0.25 * 0.5


def test_temperature_draws_follow_the_softmax() -> None:
    logits = np.log(np.array([0.7, 0.2, 0.1], dtype=np.float32))
    picks = draws(SamplingOptions(temperature=1.0, top_k=0, top_p=1.0, seed=4), logits, 4000)
    freq = np.bincount(picks, minlength=3) / len(picks)
    assert np.allclose(freq, [0.7, 0.2, 0.1], atol=0.03)


def test_a_seed_reproduces_and_minus_one_is_random() -> None:
    opts = SamplingOptions(temperature=2.0, top_k=0, top_p=1.0, seed=42)
    assert draws(opts, LOGITS, 50) == draws(opts, LOGITS, 50)
    unseeded = SamplingOptions(temperature=2.0, top_k=0, top_p=1.0, seed=-1)
    assert len({tuple(draws(unseeded, LOGITS, 30)) for _ in range(3)}) > 1


def test_penalties_follow_llamacpp_arithmetic() -> None:
    opts = SamplingOptions(
        temperature=0.0, repeat_last_n=2, repeat_penalty=2.0, frequency_penalty=0.5, presence_penalty=0.25
    )
    sampler = Sampler(opts, 6)
    for token in (4, 1, 1):  # the window keeps the last two: token 1 twice
        sampler.accept(token)
    penalized = sampler._apply_penalties(LOGITS)
    assert penalized[1] == np.float32(3.0 / 2.0 - 2 * 0.5 - 0.25)
    assert penalized[4] == LOGITS[4]  # fell out of the window
    assert sampler.sample(LOGITS) == 3  # token 1 is now worth 0.25
    negative = Sampler(SamplingOptions(temperature=0.0, repeat_penalty=2.0), 2)
    negative.accept(0)
    assert negative._apply_penalties(np.array([-1.0, 0.0], dtype=np.float32))[0] == -2.0


def test_typical_p_keeps_the_most_typical_tokens() -> None:
    logits = np.log(np.array([0.6, 0.2, 0.1, 0.1], dtype=np.float32))
    opts = SamplingOptions(temperature=1.0, top_k=0, top_p=1.0, typical_p=0.15, seed=5)
    # entropy ≈ 1.09 nats; surprises 0.51, 1.61, 2.30, 2.30: token 1 (|1.61 - 1.09| = 0.52) is
    # more typical than token 0 (0.58), and its mass 0.2 alone exceeds 0.15.
    assert set(draws(opts, logits)) == {1}
    wider = SamplingOptions(temperature=1.0, top_k=0, top_p=1.0, typical_p=0.3, seed=5)
    assert set(draws(wider, logits)) == {0, 1}


def test_token_logprobs_are_log_softmax_and_top_n_sorted() -> None:
    pieces = {i: f"t{i}".encode() for i in range(6)}
    chosen, top = token_logprobs(LOGITS, 2, 3, pieces.__getitem__)
    z = math.log(sum(math.exp(v) for v in LOGITS.tolist()))
    assert math.isclose(chosen.logprob, 2.0 - z, rel_tol=1e-9)
    assert chosen.token == "t2" and chosen.bytes == b"t2"
    assert top[0].token in ("t1", "t3") and top[2].token == "t2"
    assert top[0].logprob >= top[1].logprob >= top[2].logprob


def test_logit_bias_comes_before_everything_and_leaves_the_input_alone() -> None:
    logits = LOGITS.copy()
    banned = Sampler(SamplingOptions(temperature=0.0), 6, {1: -100.0, 3: -100.0})
    assert banned.sample(logits) == 2
    forced = Sampler(SamplingOptions(temperature=1.0, top_k=2, seed=3), 6, {4: 100.0})
    assert {forced.sample(logits) for _ in range(50)} == {4}  # top_k sees the biased logits
    np.testing.assert_array_equal(logits, LOGITS)
    # With repetition penalties the bias is applied first, as in llama.cpp's chain.
    penalized = Sampler(SamplingOptions(temperature=0.0, repeat_penalty=4.0), 6, {5: 4.0})
    penalized.accept(5)
    assert penalized.sample(logits) == 1  # (0.5 + 4) / 4 < 3
