"""Token-by-token generation on the tiny model: sampling, limits, cancellation, cache reuse, logprobs."""

from __future__ import annotations

import math
import threading
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
    info = tiny_runner.last_generation
    assert info.stop_reason == "num_predict" and info.generated == 5


def test_a_full_context_stops_generation(tiny_runner: LlamaCppRunner) -> None:
    prompt = tiny_runner.tokenize(PROMPT)
    out = run(tiny_runner, prompt, sampling=GREEDY, num_predict=-1)
    # Every position of the context gets evaluated; the last token is sampled but never evaluated.
    assert len(out) == tiny_runner.context_length - len(prompt) + 1
    assert tiny_runner.last_generation.stop_reason == "context"


def test_an_end_of_generation_token_is_yielded_last_and_marked(tiny_runner: LlamaCppRunner) -> None:
    out = run(tiny_runner, sampling=GREEDY, num_predict=50, grammar='root ::= "ab"')
    assert out[-1].eog and out[-1].id == EOS_ID
    assert not any(t.eog for t in out[:-1])
    assert b"".join(t.piece for t in out[:-1]) == b"ab"
    info = tiny_runner.last_generation
    assert info.stop_reason == "eog" and info.generated == len(out) - 1


def test_cancel_stops_before_the_next_token(tiny_runner: LlamaCppRunner) -> None:
    cancel = threading.Event()
    got = []
    for token in tiny_runner.generate(GenerateParams(tiny_runner.tokenize(PROMPT), GREEDY), cancel):
        got.append(token)
        if len(got) == 3:
            cancel.set()
    assert len(got) == 3
    assert tiny_runner.last_generation.stop_reason == "canceled"


def test_a_request_canceled_before_it_starts_yields_nothing(tiny_runner: LlamaCppRunner) -> None:
    cancel = threading.Event()
    cancel.set()
    assert list(tiny_runner.generate(GenerateParams(tiny_runner.tokenize(PROMPT), GREEDY), cancel)) == []
    assert tiny_runner.last_generation.stop_reason == "canceled"


def test_a_shared_prefix_is_reused_without_changing_the_output(tiny_runner: LlamaCppRunner) -> None:
    base = tiny_runner.tokenize("hello the world is one of")
    longer = [*base, *tiny_runner.tokenize("and to", add_special=False)]
    run(tiny_runner, "we can use your", sampling=GREEDY, num_predict=4)  # shares only BOS
    cold = run(tiny_runner, longer, sampling=GREEDY, num_predict=12)
    assert tiny_runner.last_generation.cached_tokens == 1
    run(tiny_runner, base, sampling=GREEDY, num_predict=12)
    warm = run(tiny_runner, longer, sampling=GREEDY, num_predict=12)
    info = tiny_runner.last_generation
    assert info.cached_tokens == len(base)
    assert info.prompt_eval_count == len(longer) - len(base)
    assert ids(warm) == ids(cold)


def test_the_same_prompt_twice_reevaluates_only_its_last_token(tiny_runner: LlamaCppRunner) -> None:
    prompt = tiny_runner.tokenize(PROMPT)
    first = run(tiny_runner, prompt, sampling=GREEDY, num_predict=6)
    again = run(tiny_runner, prompt, sampling=GREEDY, num_predict=6)
    assert tiny_runner.last_generation.prompt_eval_count == 1
    assert ids(first) == ids(again)


def test_a_prompt_longer_than_the_context_keeps_its_head_and_tail(tiny_runner: LlamaCppRunner) -> None:
    n_ctx = tiny_runner.context_length
    words = tiny_runner.tokenize(" ".join(["the of and to a in is it"] * 60), add_special=False)
    prompt = [1, *words]
    assert len(prompt) > n_ctx
    out = run(tiny_runner, prompt, sampling=GREEDY, num_keep=4)
    info = tiny_runner.last_generation
    assert info.truncated == len(prompt) - n_ctx
    assert info.prompt_tokens == n_ctx
    assert len(out) == 1 and info.stop_reason == "context"
    # Same result as cutting the prompt by hand: the first 4 tokens plus the newest ones.
    by_hand = run(tiny_runner, prompt[:4] + prompt[4 + info.truncated :], sampling=GREEDY, num_predict=1)
    assert ids(out) == ids(by_hand)


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
    assert tiny_runner.last_generation.stop_reason == "abandoned"
    assert len(run(tiny_runner, sampling=GREEDY, num_predict=2)) == 2  # the context lock was released
