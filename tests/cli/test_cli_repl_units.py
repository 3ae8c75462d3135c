"""Pieces of ``corral run`` without a server: answer display, timing stats, session state, flags."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from corral.cli.commands import UsageError
from corral.cli.commands.run import parse_think
from corral.cli.repl import AnswerWriter, Session, format_stats, go_duration, show_answer


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (999, "999ns"),
        (1_500, "1.5µs"),
        (97_885_315, "97.885315ms"),
        (1_000_000_000, "1s"),
        (18_293_521_648, "18.293521648s"),
        (163_589_481_292, "2m43.589481292s"),
        (3_600_000_000_000, "1h0m0s"),
        (-2_000_000, "-2ms"),
    ],
)
def test_go_duration(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def test_stats_block_matches_ollamas_layout() -> None:
    final = {
        "total_duration": 1_257_300_000,
        "load_duration": 126_290_000,
        "prompt_eval_count": 16,
        "prompt_eval_duration": 78_120_000,
        "eval_count": 123,
        "eval_duration": 1_022_400_000,
    }
    assert format_stats(final) == (
        "total duration:       1.2573s\n"
        "load duration:        126.29ms\n"
        "prompt eval count:    16 token(s)\n"
        "prompt eval duration: 78.12ms\n"
        "prompt eval rate:     204.81 tokens/s\n"
        "eval count:           123 token(s)\n"
        "eval duration:        1.0224s\n"
        "eval rate:            120.31 tokens/s\n"
    )
    # A model already loaded reports no load time; that line is left out, like Ollama.
    assert "load duration" not in format_stats({**final, "load_duration": 0})
    assert format_stats({}) == ""


def _render(raw: str) -> list[str]:
    """What a terminal shows for ``raw``: cursor-left moves erase (the writer clears the tail after)."""
    lines = [""]
    for token in re.findall(r"\x1b\[(\d+)D|\x1b\[K|(\n)|(.)", raw, flags=re.S):
        back, newline, ch = token
        if back:
            lines[-1] = lines[-1][: -int(back)]
        elif newline:
            lines.append("")
        elif ch:
            lines[-1] += ch
    return lines


def test_word_wrap_moves_a_word_that_would_cross_the_margin() -> None:
    out = io.StringIO()
    writer = AnswerWriter(out, wrap=True, width=20)  # margin: 15 columns
    for piece in ("aaaa bb", "bb ccc", "cccc dd", "dd"):
        writer.content(piece)
    assert "\x1b[5D\x1b[K\n" in out.getvalue()
    assert _render(out.getvalue()) == ["aaaa bbbb ", "ccccccc dddd"]


def test_word_wrap_breaks_at_a_space_and_leaves_long_words_to_the_terminal() -> None:
    out = io.StringIO()
    AnswerWriter(out, wrap=True, width=20).content("aaaa bbbb cccc dddd eeee")
    assert out.getvalue() == "aaaa bbbb cccc \ndddd eeee"
    for text in ("aaa " + "x" * 14, "x" * 30):  # words longer than 10 columns are not moved
        out = io.StringIO()
        AnswerWriter(out, wrap=True, width=20).content(text)
        assert out.getvalue() == text


def test_no_wrapping_when_off_or_not_a_terminal() -> None:
    text = "word " * 40
    for writer in (AnswerWriter(io.StringIO(), wrap=False, width=20), AnswerWriter(io.StringIO())):
        writer.content(text)
        assert isinstance(writer.out, io.StringIO) and writer.out.getvalue() == text


def test_thinking_is_shown_in_its_own_block_or_hidden() -> None:
    out = io.StringIO()
    writer = AnswerWriter(out)
    writer.thinking("hmm, ")
    writer.thinking("sky")
    writer.content("Blue.")
    writer.finish()
    assert out.getvalue() == "Thinking...\nhmm, sky\n...done thinking.\n\nBlue."
    out = io.StringIO()
    hidden = AnswerWriter(out, hide_thinking=True)
    hidden.thinking("hmm")
    hidden.content("Blue.")
    assert out.getvalue() == "Blue."


def test_show_answer_collects_chat_and_generate_streams() -> None:
    chat = iter(
        [
            {"message": {"role": "assistant", "content": "", "thinking": "x"}, "done": False},
            {"message": {"role": "assistant", "content": "Hi"}, "done": False},
            {"message": {"role": "assistant", "content": ""}, "done": True, "eval_count": 1},
        ]
    )
    answer = show_answer(chat, AnswerWriter(io.StringIO(), hide_thinking=True))
    assert (answer.content, answer.thinking, answer.done, answer.final["eval_count"]) == ("Hi", "x", True, 1)
    generate = iter([{"response": "a", "done": False}, {"response": "b", "done": False}])
    answer = show_answer(generate, AnswerWriter(io.StringIO()))
    assert answer.content == "ab" and not answer.done


def test_an_interrupted_answer_closes_the_stream() -> None:
    closed: list[bool] = []

    def chunks() -> Iterator[dict[str, Any]]:
        try:
            while True:
                yield {"response": "tok ", "done": False}
        finally:
            closed.append(True)

    class Terminal(io.StringIO):
        def write(self, s: str) -> int:
            if len(self.getvalue()) > 10:
                raise KeyboardInterrupt
            return super().write(s)

    with pytest.raises(KeyboardInterrupt):
        show_answer(chunks(), AnswerWriter(Terminal()))
    assert closed == [True]


def test_session_system_clear_and_requests() -> None:
    s = Session(model="tiny", options={"num_predict": 3}, format="json", keep_alive="10m")
    s.set_system("one")
    s.set_system("two")  # replaces a system message that ends the conversation
    s.messages.append({"role": "user", "content": "hi"})
    s.set_system("three")  # after other messages: appended
    assert [m["content"] for m in s.messages] == ["two", "hi", "three"]
    assert s.chat_request() == {
        "model": "tiny",
        "messages": s.messages,
        "format": "json",
        "options": {"num_predict": 3},
        "keep_alive": "10m",
    }
    assert s.create_request("saved") == {
        "model": "saved",
        "from": "tiny",
        "system": "three",
        "parameters": {"num_predict": 3},
        "messages": s.messages,
    }
    s.clear()
    assert s.messages == [{"role": "system", "content": "three"}]
    s.switch("other")
    assert (s.model, s.messages, s.system) == ("other", [], "three")
    assert Session(model="m").create_request("n") == {"model": "n", "from": "m"}


def test_parse_think() -> None:
    assert [parse_think(v) for v in (None, "", "true", "false", "high", "max")] == [
        None, True, True, False, "high", "max",
    ]  # fmt: skip
    with pytest.raises(UsageError, match='invalid value for --think: "maybe"'):
        parse_think("maybe")
