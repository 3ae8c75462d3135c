"""Small string helpers shared by the streaming post-processors (held-back tag prefixes)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["common_prefix_len", "common_suffix_len", "partial_start"]


def partial_start(text: str, tags: Iterable[str]) -> int:
    """Index where the longest tail of ``text`` that is a proper prefix of one of ``tags`` begins.

    Returns ``len(text)`` when no tail of ``text`` could grow into a tag; the text before the
    returned index can never become part of a tag that starts later.
    """
    start = len(text)
    for tag in tags:
        longest = min(len(text), len(tag) - 1)
        for size in range(longest, 0, -1):
            if len(text) - size >= start:
                break
            if text.endswith(tag[:size]):
                start = len(text) - size
                break
    return start


def common_prefix_len(a: str, b: str, limit: int) -> int:
    """Length of the common prefix of ``a`` and ``b``, at most ``limit``."""
    n = 0
    top = min(len(a), len(b), limit)
    while n < top and a[n] == b[n]:
        n += 1
    return n


def common_suffix_len(a: str, b: str, limit: int) -> int:
    """Length of the common suffix of ``a`` and ``b``, at most ``limit``."""
    n = 0
    top = min(len(a), len(b), limit)
    while n < top and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
