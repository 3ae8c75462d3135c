"""StopMatcher: stop strings across pieces, overlapping stops, unicode, and a randomised oracle."""

from __future__ import annotations

import random

import pytest
from assemble_support import split

from corral.core.assemble import StopMatcher


def run(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    matcher = StopMatcher(stops)
    out: list[str] = []
    for piece in pieces:
        text, hit = matcher.push(piece)
        out.append(text)
        if hit:
            return "".join(out), True
    out.append(matcher.flush())
    return "".join(out), False


def oracle(stops: list[str], text: str) -> tuple[str, bool]:
    """Cut at the earliest position any stop string starts."""
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


def test_stop_in_one_piece() -> None:
    matcher = StopMatcher(["<|im_end|>"])
    assert matcher.push("Hello<|im_end|>ignored") == ("Hello", True)
    assert matcher.stopped
    assert matcher.push("more") == ("", True)
    assert matcher.flush() == ""


def test_stop_spanning_pieces() -> None:
    matcher = StopMatcher(["<|eot_id|>"])
    assert matcher.push("Hi <|eo") == ("Hi ", False)
    assert matcher.push("t_i") == ("", False)
    assert matcher.push("d|> tail") == ("", True)


def test_held_text_released_when_it_is_not_a_stop() -> None:
    matcher = StopMatcher(["world"])
    assert matcher.push("hello wor") == ("hello ", False)
    assert matcher.push("m!") == ("worm!", False)
    assert matcher.push("wo") == ("", False)
    assert matcher.flush() == "wo"


def test_multiple_stops_earliest_wins() -> None:
    assert run(["END", "STOP"], ["a STOP b END"]) == ("a ", True)
    assert run(["STOP", "END"], ["a END b STOP"]) == ("a ", True)


def test_overlapping_stops_cut_at_earliest_start_whatever_the_split() -> None:
    stops = ["abcd", "bc"]
    assert run(stops, ["xabcd"]) == ("x", True)
    matcher = StopMatcher(stops)
    assert matcher.push("xab") == ("x", False)
    assert matcher.push("c") == ("", False)  # "bc" matched, but "abcd" could still start earlier
    assert matcher.push("d") == ("", True)
    matcher = StopMatcher(stops)
    matcher.push("xabc")
    assert matcher.push("e") == ("a", True)  # "abcd" failed, so the cut is at "bc"


def test_stop_that_is_a_prefix_of_another() -> None:
    assert run(["ab", "abc"], ["zab"]) == ("z", True)
    assert run(["abc", "ab"], ["z", "a", "b"]) == ("z", True)


def test_unicode_stops() -> None:
    assert run(["。"], split("今日は晴れ。明日は雨。", 1, 2)) == ("今日は晴れ", True)
    assert run(["🛑"], ["go go ", "🛑 no"]) == ("go go ", True)
    assert run(["<｜end▁of▁sentence｜>"], split("答え<｜end▁of▁sentence｜>", 3, 3)) == ("答え", True)


def test_empty_and_duplicate_stops_are_ignored() -> None:
    assert run(["", "x", "x"], ["abc", "x"]) == ("abc", True)
    assert run([""], ["abc"]) == ("abc", False)


def test_no_stops_passes_through_without_holding() -> None:
    matcher = StopMatcher([])
    assert matcher.push("abc") == ("abc", False)
    assert matcher.flush() == ""


def test_emitted_text_never_holds_back_more_than_needed() -> None:
    matcher = StopMatcher(["</s>", "\n\nUser:"])
    assert matcher.push("one\n") == ("one", False)
    assert matcher.push("\nUs") == ("", False)
    assert matcher.push("e") == ("", False)
    assert matcher.push("d") == ("\n\nUsed", False)


@pytest.mark.parametrize("seed", range(300))
def test_random_texts_match_the_oracle(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "abcé"
    stops = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 3))
    ]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
    expected = oracle(stops, text)
    assert run(stops, [text]) == expected
    assert run(stops, split(text, seed, 4)) == expected
    assert run(stops, list(text)) == expected
