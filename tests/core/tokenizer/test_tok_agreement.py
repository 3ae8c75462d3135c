"""The tokenization agreement kit: the corpus, and reports that catch real differences."""

from __future__ import annotations

from collections.abc import Sequence

from corral.core.tokenizer import GGUFTokenizer
from corral.testing.agreement.corpus import SPECIAL_LOOKING, tokenization_corpus
from corral.testing.agreement.tokens import ALL_MODES, compare_tokenization


def test_corpus_is_deterministic_and_covers_the_edge_cases() -> None:
    corpus = tokenization_corpus()
    assert corpus == tokenization_corpus() and len(corpus) == len(set(corpus)) >= 1000
    assert tokenization_corpus(1500, seed=1) != tokenization_corpus(1500, seed=2)
    joined = "".join(corpus)
    assert "" in corpus and " hello" in corpus and "<0x41>" in corpus
    for needle in ("\t", "\n\n", "\r\n", "   ", "é", "日本", "🐑", "def ", *SPECIAL_LOOKING[:5]):
        assert needle in joined, needle
    assert "\u2581" not in joined


class _Shifted:
    """A tokenizer that disagrees on texts containing "dog" and cannot decode "cat"."""

    def __init__(self, inner: GGUFTokenizer) -> None:
        self._inner = inner

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        ids = self._inner.tokenize(text, add_special=add_special, parse_special=parse_special)
        return [*ids, 0] if "dog" in text else ids

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        return self._inner.detokenize(tokens).replace(b"cat", b"")


def test_report_counts_mismatches_and_round_trip_failures(tiny_spm: tuple[object, GGUFTokenizer]) -> None:
    _, tok = tiny_spm
    strings = ["the cat", "a dog", "hello", "dog and cat"]
    report = compare_tokenization(tok, _Shifted(tok), strings, modes=ALL_MODES, max_examples=3)
    assert (report.identical, report.total) == (8, 16) and report.percent == 50.0 and not report.ok
    assert len(report.mismatches) == 3
    first = report.mismatches[0]
    assert first.text == "a dog" and (first.add_special, first.parse_special) == (True, True)
    assert first.ids_b == (*first.ids_a, 0) and first.first_difference == len(first.ids_a)
    # b drops "cat" when decoding, and its extra id 0 decodes as "<unk>".
    assert (report.round_trip_failures_a, report.round_trip_failures_b) == (0, 3)
    assert [f.text for f in report.round_trip_failures] == ["the cat", "a dog", "dog and cat"]
    assert all(f.side == "b" for f in report.round_trip_failures)
    assert "8/16 identical (50.00%)" in report.summary() and "'a dog'" in report.summary()
    same = compare_tokenization(tok, tok, strings)
    assert same.ok and same.percent == 100.0 and same.total == 4
