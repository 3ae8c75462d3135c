"""Token-by-token generation on the tiny model: sampling, limits, cancellation, cache reuse, logprobs."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence

import pytest

from corral.backends.llamacpp import LlamaCppRunner
from corral.core.engine import GenerateParams, SamplingOptions, TokenOut
from corral.core.errors import BadRequest
from corral.testing import EOS_ID

GREEDY = SamplingOptions(temperature=0)
PROMPT = "hello the world is"


def run(runner: LlamaCppRunner, prompt: str | Sequence[int] = PROMPT, **kw: object) -> list[TokenOut]:
    tokens = runner.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
    params = GenerateParams(prompt_tokens=tokens, **kw)  # type: ignore[arg-type]
    return list(runner.generate(params, threading.Event()))


def ids(out: list[TokenOut]) -> list[int]:
    return [t.id for t in out]


def test_greedy_is_deterministic_and_equals_top_k_1(tiny_runner: LlamaCppRunner) -> None:
    first = run(tiny_runner, sampling=GREEDY, num_predict=24)
    run(tiny_runner, "of and to", sampling=GREEDY, num_predict=5)  # something else in between
    second = run(tiny_runner, sampling=GREEDY, num_predict=24)
    top1 = run(tiny_runner, sampling=SamplingOptions(temperature=1.5, top_k=1, seed=3), num_predict=24)
    assert len(first) == 24
    assert ids(first) == ids(second) == ids(top1)


def test_a_seed_reproduces_a_sampled_generation(tiny_runner: LlamaCppRunner) -> None:
    def sample(seed: int) -> list[int]:
        return ids(
            run(
                tiny_runner,
                sampling=SamplingOptions(temperature=1.0, top_k=0, top_p=1.0, seed=seed),
                num_predict=32,
            )
        )

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)
    assert sample(7) != ids(run(tiny_runner, sampling=GREEDY, num_predict=32))


def test_num_predict_stops_after_that_many_tokens(tiny_runner: LlamaCppRunner) -> None:
    out = run(tiny_runner, sampling=GREEDY, num_predict=5)
    assert len(out) == 5 and not any(t.eog for t in out)


def test_a_full_context_stops_generation_when_shift_is_off(tiny_runner: LlamaCppRunner) -> None:
    prompt = tiny_runner.tokenize(PROMPT)
    out = run(tiny_runner, prompt, sampling=GREEDY, num_predict=-1, shift=False)
    # Every position of the context gets evaluated; the last token is sampled but never evaluated.
    assert len(out) == tiny_runner.context_length - len(prompt) + 1
    assert not out[-1].eog


def test_a_full_context_shifts_and_goes_on(tiny_runner: LlamaCppRunner) -> None:
    prompt = tiny_runner.tokenize(PROMPT)
    limit = 3 * tiny_runner.context_length
    out = run(tiny_runner, prompt, sampling=GREEDY, num_predict=limit)
    eog = [i for i, t in enumerate(out) if t.eog]
    # Far past the context (the random model ends only by chance, with an EOG token).
    assert len(out) == limit or (eog and len(out) > tiny_runner.context_length)


def test_an_end_of_generation_token_is_yielded_last_and_marked(tiny_runner: LlamaCppRunner) -> None:
    out = run(tiny_runner, sampling=GREEDY, num_predict=50, grammar='root ::= "ab"')
    assert out[-1].eog and out[-1].id == EOS_ID
    assert not any(t.eog for t in out[:-1])
    assert b"".join(t.piece for t in out[:-1]) == b"ab"


def test_cancel_stops_before_the_next_token(tiny_runner: LlamaCppRunner) -> None:
    cancel = threading.Event()
    got = []
    for token in tiny_runner.generate(GenerateParams(tiny_runner.tokenize(PROMPT), GREEDY), cancel):
        got.append(token)
        if len(got) == 3:
            cancel.set()
    assert len(got) == 3
    deadline = time.monotonic() + 5
    while tiny_runner.slots_in_use() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tiny_runner.slots_in_use() == 0  # the slot is freed


def test_a_request_canceled_before_it_starts_yields_nothing(tiny_runner: LlamaCppRunner) -> None:
    cancel = threading.Event()
    cancel.set()
    assert list(tiny_runner.generate(GenerateParams(tiny_runner.tokenize(PROMPT), GREEDY), cancel)) == []


def test_a_shared_prefix_is_reused_without_changing_the_output(tiny_runner: LlamaCppRunner) -> None:
    base = tiny_runner.tokenize("hello the world is one of")
    longer = [*base, *tiny_runner.tokenize("and to", add_special=False)]
    run(tiny_runner, "we can use your", sampling=GREEDY, num_predict=4)  # shares only BOS
    cold = run(tiny_runner, longer, sampling=GREEDY, num_predict=12)
    run(tiny_runner, base, sampling=GREEDY, num_predict=12)
    warm = run(tiny_runner, longer, sampling=GREEDY, num_predict=12)
    assert warm[0].prompt is not None
    assert warm[0].prompt.cached == len(base)
    assert warm[0].prompt.evaluated == len(longer) - len(base)
    assert ids(warm) == ids(cold)


def test_the_same_prompt_twice_reevaluates_only_its_last_token(tiny_runner: LlamaCppRunner) -> None:
    prompt = tiny_runner.tokenize(PROMPT)
    first = run(tiny_runner, prompt, sampling=GREEDY, num_predict=6)
    again = run(tiny_runner, prompt, sampling=GREEDY, num_predict=6)
    assert again[0].prompt is not None and again[0].prompt.evaluated == 1
    assert ids(first) == ids(again)


def test_a_prompt_longer_than_the_context_is_refused(tiny_runner: LlamaCppRunner) -> None:
    # The core fits prompts (corral.core.limits); a runner called directly refuses instead.
    prompt = [1] * (tiny_runner.context_length + 1)
    with pytest.raises(BadRequest, match="exceeds the context length"):
        tiny_runner.generate(GenerateParams(prompt), threading.Event())


def test_repeat_last_n_bounds_the_penalty_window(tiny_runner: LlamaCppRunner) -> None:
    plain = ids(run(tiny_runner, sampling=GREEDY, num_predict=40))
    assert len(set(plain)) < len(plain)  # the random model repeats itself under greedy decoding

    def penalized(last_n: int) -> list[int]:
        options = SamplingOptions(temperature=0, presence_penalty=100.0, repeat_last_n=last_n)
        return ids(run(tiny_runner, sampling=options, num_predict=40))

    assert penalized(0) == plain  # 0 disables the penalties
    whole = penalized(-1)  # -1: the whole context
    assert len(set(whole)) == len(whole)
    window = penalized(4)
    assert all(window[i] not in window[max(0, i - 4) : i] for i in range(len(window)))
    assert len(set(window)) < len(window)  # tokens come back once they leave the window


def test_logprobs_describe_each_token(tiny_runner: LlamaCppRunner) -> None:
    out = run(tiny_runner, sampling=GREEDY, num_predict=6, logprobs=True, top_logprobs=3)
    for token in out:
        assert token.logprob is not None
        assert token.logprob.bytes == token.piece
        assert token.logprob.token == token.piece.decode("utf-8", "replace")
        assert token.logprob.logprob <= 0.0
        top = token.top_logprobs
        assert len(top) == 3
        assert [t.logprob for t in top] == sorted((t.logprob for t in top), reverse=True)
        assert sum(math.exp(t.logprob) for t in top) <= 1.0 + 1e-6
        # Greedy picks the most likely token.
        assert top[0].bytes == token.piece and top[0].logprob == pytest.approx(token.logprob.logprob)


def test_logprobs_are_left_out_unless_asked(tiny_runner: LlamaCppRunner) -> None:
    out = run(tiny_runner, sampling=GREEDY, num_predict=3)
    assert all(t.logprob is None and t.top_logprobs == () for t in out)
    out = run(tiny_runner, sampling=GREEDY, num_predict=3, logprobs=True)
    assert all(t.logprob is not None and t.top_logprobs == () for t in out)


def test_bad_prompts_are_refused_before_generation(tiny_runner: LlamaCppRunner) -> None:
    with pytest.raises(BadRequest, match="empty"):
        tiny_runner.generate(GenerateParams([]), threading.Event())
    for bad in (-1, 10**6):
        with pytest.raises(BadRequest, match=f"invalid token id {bad}"):
            tiny_runner.generate(GenerateParams([1, bad]), threading.Event())


def test_concurrent_generations_take_turns(tiny_runner: LlamaCppRunner) -> None:
    prompts = [PROMPT, "we can use your", "of and to"]
    expected = {p: ids(run(tiny_runner, p, sampling=GREEDY, num_predict=16)) for p in prompts}
    results: dict[str, list[int]] = {}

    def worker(prompt: str) -> None:
        results[prompt] = ids(run(tiny_runner, prompt, sampling=GREEDY, num_predict=16))

    threads = [threading.Thread(target=worker, args=(p,)) for p in prompts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == expected


def test_a_caller_that_stops_early_frees_the_runner(tiny_runner: LlamaCppRunner) -> None:
    tokens = tiny_runner.generate(GenerateParams(tiny_runner.tokenize(PROMPT), GREEDY), threading.Event())
    next(tokens)
    tokens.close()  # type: ignore[attr-defined]  # e.g. the core matched a stop string
    deadline = time.monotonic() + 5
    while tiny_runner.slots_in_use() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tiny_runner.slots_in_use() == 0  # its slot was freed
    assert len(run(tiny_runner, sampling=GREEDY, num_predict=2)) == 2
