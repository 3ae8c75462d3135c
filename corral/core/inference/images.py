"""Images in a rendered prompt: its ``[img-N]`` tags become image positions between runs of tokens."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corral.core.errors import BadRequest
from corral.core.limits import INPUT_TOO_LONG, fit_prompt

__all__ = ["IMAGE_TAG", "PromptTokens", "tokenize_prompt"]

IMAGE_TAG = re.compile(r"\[img-(\d+)\]")
"""Where image N goes in a rendered prompt (Ollama's tag; the templates put it there)."""

Tokenize = Callable[..., list[int]]
"""``Runner.tokenize``: ``(text, *, add_special=True, parse_special=True) -> ids``."""


@dataclass(frozen=True)
class PromptTokens:
    """A prompt as a runner gets it: tokens, and the images between them."""

    tokens: list[int]
    images: tuple[bytes, ...] = ()
    positions: tuple[int, ...] = ()
    """Image ``i`` goes before ``tokens[positions[i]]``."""


def tokenize_prompt(
    tokenize: Tokenize, prompt: str, images: Sequence[bytes], *, n_ctx: int, num_keep: int, truncate: bool
) -> PromptTokens:
    """Tokenize ``prompt`` and fit it to ``n_ctx`` tokens.

    Without images this is :func:`corral.core.limits.fit_prompt`. With images, as in Ollama's
    runner, the text between ``[img-N]`` tags is tokenized piece by piece (BOS only at the start)
    and each tag that names one of ``images`` marks where that image goes; a tag naming no image is
    left as text. Images no tag names are refused (a raw prompt must place them). A prompt with
    images is never truncated: the runner knows how many tokens an image takes and refuses a
    prompt that does not fit.
    """
    if not images:
        return PromptTokens(fit_prompt(tokenize(prompt), n_ctx, num_keep, truncate=truncate)[0])
    tokens: list[int] = []
    placed: list[bytes] = []
    positions: list[int] = []
    used: set[int] = set()
    pending, start = "", 0
    for match in IMAGE_TAG.finditer(prompt):
        number = int(match.group(1))
        pending += prompt[start : match.start()]
        start = match.end()
        if number >= len(images):
            pending += match.group(0)
            continue
        tokens += tokenize(pending, add_special=not tokens and not placed)
        pending = ""
        positions.append(len(tokens))
        placed.append(images[number])
        used.add(number)
    tokens += tokenize(pending + prompt[start:], add_special=not tokens and not placed)
    missing = sorted(set(range(len(images))) - used)
    if missing:
        raise BadRequest(
            f"image {missing[0]} is not placed in the prompt: a raw prompt must mark each image with [img-N]"
        )
    if len(tokens) > n_ctx:
        raise BadRequest(INPUT_TOO_LONG)
    return PromptTokens(tokens, tuple(placed), tuple(positions))
