"""The built-in templates shipped as package data, and matching a GGUF chat_template to one of them."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = [
    "MAX_DISTANCE",
    "BuiltinTemplate",
    "builtin_names",
    "builtin_template",
    "detect_template",
    "levenshtein",
    "ranked_builtins",
]

MAX_DISTANCE = 100
"""A chat_template matches a built-in one only when their edit distance is below this."""


@dataclass(frozen=True, slots=True)
class BuiltinTemplate:
    """A built-in Go template with its default parameters (``stop`` list, sometimes ``temperature``)."""

    name: str
    template: str
    parameters: dict[str, Any] = field(default_factory=dict)


def _read(name: str) -> str:
    return resources.files(__package__).joinpath("builtin", name).read_text(encoding="utf-8")


@functools.cache
def _index() -> tuple[tuple[str, str], ...]:
    entries = json.loads(_read("index.json"))
    return tuple((e["name"], e["template"]) for e in entries)


@functools.cache
def _names() -> tuple[str, ...]:
    folder = resources.files(__package__).joinpath("builtin")
    return tuple(
        sorted(p.name.removesuffix(".gotmpl") for p in folder.iterdir() if p.name.endswith(".gotmpl"))
    )


def builtin_names() -> list[str]:
    """Names of the built-in templates, sorted."""
    return list(_names())


@functools.cache
def builtin_template(name: str) -> BuiltinTemplate:
    """Load a built-in template by name; raises KeyError for an unknown name."""
    if name not in _names():
        raise KeyError(name)
    text = _read(f"{name}.gotmpl").replace("\r\n", "\n")
    try:
        params = json.loads(_read(f"{name}.json"))
    except FileNotFoundError:
        params = {}
    return BuiltinTemplate(name, text, params)


def levenshtein(a: str, b: str) -> int:
    """Edit distance between two strings, over code points (bit-parallel, Myers/Hyyrö)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    # b is the pattern; each of its positions is one bit of the vertical delta vectors.
    m = len(b)
    full = (1 << m) - 1
    high = 1 << (m - 1)
    peq: dict[str, int] = {}
    for i, c in enumerate(b):
        peq[c] = peq.get(c, 0) | (1 << i)
    pv, mv, score = full, 0, m
    for c in a:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
    return score


def ranked_builtins(chat_template: str) -> list[str]:
    """Built-in template names whose ``index.json`` sources lie within ``MAX_DISTANCE`` edits of
    ``chat_template``, nearest first, each name once (Ollama's nominees; see ``templates.match``)."""
    scores: dict[str, int] = {}
    for name, known in _index():
        if abs(len(known) - len(chat_template)) >= min(MAX_DISTANCE, scores.get(name, MAX_DISTANCE)):
            continue  # the length difference alone rules it out
        score = levenshtein(chat_template, known)
        if score < scores.get(name, MAX_DISTANCE):
            scores[name] = score
    return sorted(scores, key=lambda n: scores[n])


def detect_template(chat_template: str) -> BuiltinTemplate | None:
    """Ollama's match: the nearest built-in by edit distance if below ``MAX_DISTANCE`` (first on ties).

    Nearest is not the same: corral creates models with ``templates.match.match_builtin``, which also
    requires identical renderings; this is kept as Ollama's reference behaviour.
    """
    ranked = ranked_builtins(chat_template)
    return builtin_template(ranked[0]) if ranked else None
