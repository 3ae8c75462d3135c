"""Tokenization agreement: do two tokenizers turn the same strings into the same token ids?

For plugin authors whose backend brings its own tokenizer: compare it with the llama.cpp runner
(or with :class:`corral.core.tokenizer.GGUFTokenizer`, which is built to match llama.cpp)::

    from corral.testing.agreement.tokens import compare_tokenization
    from corral.testing.agreement.corpus import tokenization_corpus

    report = compare_tokenization(llamacpp_runner, my_runner, tokenization_corpus())
    assert report.percent == 100.0, report.summary()

Anything with ``tokenize(text, *, add_special, parse_special) -> list[int]`` and
``detokenize(ids) -> bytes`` can be compared: a loaded :class:`corral.core.engine.Runner`, or a
``GGUFTokenizer`` (which has both as aliases of ``encode``/``decode``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ALL_MODES",
    "RoundTripFailure",
    "TokenAgreement",
    "TokenMismatch",
    "Tokenizes",
    "compare_tokenization",
]

ALL_MODES: tuple[tuple[bool, bool], ...] = ((True, True), (True, False), (False, True), (False, False))
"""Every ``(add_special, parse_special)`` combination."""


class Tokenizes(Protocol):
    """What the comparison needs: the tokenizing half of a Runner."""

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Text to token ids."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        """Token ids to bytes."""
        ...


@dataclass(frozen=True)
class TokenMismatch:
    """One string that the two tokenizers tokenized differently."""

    text: str
    add_special: bool
    parse_special: bool
    ids_a: tuple[int, ...]
    ids_b: tuple[int, ...]

    @property
    def first_difference(self) -> int:
        """Index of the first differing id (the shorter length when one is a prefix)."""
        for i, (x, y) in enumerate(zip(self.ids_a, self.ids_b, strict=False)):
            if x != y:
                return i
        return min(len(self.ids_a), len(self.ids_b))


@dataclass(frozen=True)
class RoundTripFailure:
    """``detokenize(tokenize(text))`` did not give the text back (side ``"a"`` or ``"b"``).

    Tokenized with ``add_special=False, parse_special=False``; one leading space is tolerated
    (SentencePiece vocabularies with ``add_space_prefix`` add it). Lossy tokenizers (WordPiece
    lowercases and drops spaces) fail on purpose: compare the counts of both sides then.
    """

    side: str
    text: str
    ids: tuple[int, ...]
    decoded: bytes


@dataclass(frozen=True)
class TokenAgreement:
    """How often two tokenizers agreed over a corpus."""

    identical: int
    """Comparisons (string x mode) with exactly the same ids."""
    total: int
    """Comparisons made: ``len(strings) * len(modes)``."""
    mismatches: tuple[TokenMismatch, ...]
    """The first ``max_examples`` disagreements."""
    round_trip_failures: tuple[RoundTripFailure, ...]
    """The first ``max_examples`` round-trip failures of either side."""
    round_trip_failures_a: int = 0
    """Number of strings side a did not round-trip."""
    round_trip_failures_b: int = 0
    """Number of strings side b did not round-trip."""

    @property
    def percent(self) -> float:
        """Identical comparisons, in percent (100.0 for an empty corpus)."""
        return 100.0 * self.identical / self.total if self.total else 100.0

    @property
    def ok(self) -> bool:
        """Every comparison identical and every string round-tripped on both sides."""
        return self.identical == self.total and not (self.round_trip_failures_a or self.round_trip_failures_b)

    def summary(self) -> str:
        """A few lines for an assertion message: the figures and the first disagreements."""
        lines = [
            f"{self.identical}/{self.total} identical ({self.percent:.2f}%), round-trip failures: "
            f"a={self.round_trip_failures_a} b={self.round_trip_failures_b}"
        ]
        for m in self.mismatches:
            lines.append(
                f"  {m.text!r} add_special={m.add_special} parse_special={m.parse_special} "
                f"at {m.first_difference}: a={list(m.ids_a)} b={list(m.ids_b)}"
            )
        for f in self.round_trip_failures:
            lines.append(f"  round trip ({f.side}) {f.text!r} -> {f.decoded!r}")
        return "\n".join(lines)


def _round_trips(tok: Tokenizes, text: str) -> tuple[bool, tuple[int, ...], bytes]:
    ids = tuple(tok.tokenize(text, add_special=False, parse_special=False))
    decoded = tok.detokenize(ids)
    expected = text.encode("utf-8")
    return decoded in (expected, b" " + expected), ids, decoded


def compare_tokenization(
    a: Tokenizes,
    b: Tokenizes,
    strings: Iterable[str],
    *,
    modes: Sequence[tuple[bool, bool]] = ((True, True),),
    round_trip: bool = True,
    max_examples: int = 10,
) -> TokenAgreement:
    """Tokenize every string with ``a`` and ``b`` in each ``(add_special, parse_special)`` mode.

    ``modes`` defaults to the server's default (both True); pass :data:`ALL_MODES` for all four.
    ``round_trip`` also checks ``detokenize(tokenize(s))`` on both sides (see
    :class:`RoundTripFailure`). Keeps the first ``max_examples`` mismatches and failures.
    """
    identical = total = 0
    mismatches: list[TokenMismatch] = []
    failures: list[RoundTripFailure] = []
    failed = {"a": 0, "b": 0}
    for text in strings:
        for add_special, parse_special in modes:
            ids_a = tuple(a.tokenize(text, add_special=add_special, parse_special=parse_special))
            ids_b = tuple(b.tokenize(text, add_special=add_special, parse_special=parse_special))
            total += 1
            if ids_a == ids_b:
                identical += 1
            elif len(mismatches) < max_examples:
                mismatches.append(TokenMismatch(text, add_special, parse_special, ids_a, ids_b))
        if not round_trip:
            continue
        for side, tok in (("a", a), ("b", b)):
            ok, ids, decoded = _round_trips(tok, text)
            if not ok:
                failed[side] += 1
                if len(failures) < max_examples:
                    failures.append(RoundTripFailure(side, text, ids, decoded))
    return TokenAgreement(
        identical=identical,
        total=total,
        mismatches=tuple(mismatches),
        round_trip_failures=tuple(failures),
        round_trip_failures_a=failed["a"],
        round_trip_failures_b=failed["b"],
    )
