"""Matching GGUF chat templates to the built-in templates by edit distance."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from corral.core.templates import builtin_template, detect_template, levenshtein
from corral.core.templates.detect import MAX_DISTANCE

DATA = Path(__file__).resolve().parents[2] / "data" / "templates"
DETECT = json.loads((DATA / "detect_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", DETECT, ids=[f"{i}-{c['expected_name']}" for i, c in enumerate(DETECT)])
def test_detect_cases(case: dict[str, Any]) -> None:
    found = detect_template(case["chat_template"])
    assert found is not None
    assert found.name == case["expected_name"]
    assert found == builtin_template(case["expected_name"])
    assert "stop" in found.parameters


def test_detect_case_count() -> None:
    assert len(DETECT) == 35


def test_small_edits_still_match_and_unrelated_text_does_not() -> None:
    base = DETECT[0]["chat_template"]
    edited = base.replace("system", "sys", 3) + " " * 10
    found = detect_template(edited)
    assert found is not None and found.name == DETECT[0]["expected_name"]
    assert detect_template("{{ messages }}") is None
    assert detect_template("") is None
    assert detect_template("x" * 50_000) is None


def _reference(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def test_levenshtein_matches_the_textbook_algorithm() -> None:
    rng = random.Random(7)
    for _ in range(500):
        a = "".join(rng.choice("abcé{%") for _ in range(rng.randint(0, 40)))
        b = "".join(rng.choice("abcé{%") for _ in range(rng.randint(0, 40)))
        assert levenshtein(a, b) == _reference(a, b)
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3 and levenshtein("abc", "") == 3


def test_threshold_is_strict() -> None:
    base = DETECT[0]["chat_template"]
    assert MAX_DISTANCE == 100
    assert detect_template(base + "#" * 99) is not None
    assert detect_template(base + "#" * 100) is None
