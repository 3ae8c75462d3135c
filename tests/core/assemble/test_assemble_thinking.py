"""ThinkingParser: splitting thinking from content, partial tags, custom tags, random pieces."""

from __future__ import annotations

import pytest
from assemble_support import split

from corral.core.assemble import ThinkingParser


def run(parser: ThinkingParser, pieces: list[str]) -> tuple[str, str]:
    thinking: list[str] = []
    content: list[str] = []
    for piece in pieces:
        t, c = parser.push(piece)
        thinking.append(t)
        content.append(c)
    t, c = parser.flush()
    return "".join([*thinking, t]), "".join([*content, c])


def test_basic_split_drops_whitespace_after_tags() -> None:
    assert run(ThinkingParser(), ["<think>\nLet me see.\n</think>\n\nThe answer is 4."]) == (
        "Let me see.\n",
        "The answer is 4.",
    )


def test_whitespace_before_the_opening_tag_is_dropped() -> None:
    assert run(ThinkingParser(), ["\n  <think>hm</think>ok"]) == ("hm", "ok")


def test_output_without_opening_tag_is_all_content() -> None:
    assert run(ThinkingParser(), ["  Just an answer </think> really"]) == (
        "",
        "  Just an answer </think> really",
    )


def test_opening_tag_later_in_the_text_is_content() -> None:
    assert run(ThinkingParser(), ["Hi <think>x</think>"]) == ("", "Hi <think>x</think>")


def test_partial_opening_tag_is_held() -> None:
    parser = ThinkingParser()
    assert parser.push("<thi") == ("", "")
    assert parser.push("nk>abc") == ("abc", "")
    assert parser.in_thinking


def test_partial_opening_tag_that_is_not_one_becomes_content() -> None:
    parser = ThinkingParser()
    assert parser.push("<thi") == ("", "")
    assert parser.push("ng>") == ("", "<thing>")


def test_partial_closing_tag_is_held_then_released() -> None:
    parser = ThinkingParser()
    assert parser.push("<think>a </th") == ("a ", "")
    assert parser.push("ought") == ("</thought", "")
    assert parser.push("</think>b") == ("", "b")
    assert not parser.in_thinking


def test_custom_tags() -> None:
    parser = ThinkingParser("<|thought|>", "<|/thought|>")
    assert run(parser, split("<|thought|>plan<|/thought|>done", 2, 3)) == ("plan", "done")


def test_starts_in_thinking() -> None:
    parser = ThinkingParser(starts_in_thinking=True)
    assert parser.in_thinking
    assert run(parser, ["\nreasoning</think>\n\nanswer"]) == ("reasoning", "answer")


def test_flush_while_thinking_returns_held_partial_tag_as_thinking() -> None:
    parser = ThinkingParser()
    assert parser.push("<think>still going </thi") == ("still going ", "")
    assert parser.flush() == ("</thi", "")


def test_flush_before_any_decision_returns_content() -> None:
    parser = ThinkingParser()
    assert parser.push("  <th") == ("", "")
    assert parser.flush() == ("", "  <th")
    assert ThinkingParser().flush() == ("", "")


def test_only_the_first_closing_tag_ends_thinking() -> None:
    assert run(ThinkingParser(), ["<think>a</think>b</think>c<think>d"]) == ("a", "b</think>c<think>d")


def test_unicode_inside_thinking() -> None:
    pieces = split("<think>考えています🤔</think>答え", 5, 2)
    assert run(ThinkingParser(), pieces) == ("考えています🤔", "答え")


def test_empty_tags_are_rejected() -> None:
    with pytest.raises(ValueError):
        ThinkingParser("", "</think>")


SAMPLES = [
    "<think>\nLet me see.\n</think>\n\nThe answer is 4.",
    "   \n<think>  a<b </thin </think>   c <think> d",
    "no thinking here </think>",
    "<think></think>",
    "<think>never closed <",
    "<thin",
    "\n\n",
    "<think>\n\n</think>\n\n",
]


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("starts_in_thinking", [False, True])
def test_random_pieces_match_one_shot(text: str, starts_in_thinking: bool) -> None:
    whole = run(ThinkingParser(starts_in_thinking=starts_in_thinking), [text])
    for seed in range(40):
        pieces = split(text, seed, 4)
        assert run(ThinkingParser(starts_in_thinking=starts_in_thinking), pieces) == whole, seed
    assert run(ThinkingParser(starts_in_thinking=starts_in_thinking), list(text)) == whole
