"""Images in a rendered prompt become positions between token runs; runners without images refuse them."""

from __future__ import annotations

import pytest

from corral.core.engine import GenerateParams, RunnerCapabilities
from corral.core.errors import BadRequest
from corral.core.inference.images import tokenize_prompt
from corral.core.inference.prepare import check_capabilities

BOS = 1


def tokenize(text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
    """One token per character (its code), BOS first when asked: piece boundaries stay visible."""
    return ([BOS] if add_special else []) + [ord(c) for c in text]


def fit(
    prompt: str, images: list[bytes], n_ctx: int = 100
) -> tuple[list[int], tuple[bytes, ...], tuple[int, ...]]:
    out = tokenize_prompt(tokenize, prompt, images, n_ctx=n_ctx, num_keep=0, truncate=True)
    return out.tokens, out.images, out.positions


def test_tags_become_positions_and_bos_comes_once() -> None:
    tokens, images, positions = fit("a[img-1]b[img-0]", [b"zero", b"one"])
    assert tokens == [BOS, ord("a"), ord("b")]
    assert images == (b"one", b"zero")
    assert positions == (2, 3)  # before "b", and at the very end


def test_prompt_starting_with_an_image_keeps_bos_before_it() -> None:
    tokens, _, positions = fit("[img-0]hi", [b"x"])
    assert tokens == [BOS, ord("h"), ord("i")] and positions == (1,)


def test_a_tag_naming_no_image_stays_text() -> None:
    tokens, images, positions = fit("[img-3][img-0]", [b"x"])
    assert tokens == [BOS, *map(ord, "[img-3]")] and images == (b"x",) and positions == (8,)


def test_without_images_the_prompt_is_fitted_as_before() -> None:
    tokens, images, positions = fit("[img-0]abc", [], n_ctx=5)
    assert images == () and positions == () and len(tokens) == 5  # truncated, tag left as text


def test_unplaced_image_and_too_long_prompt_are_refused() -> None:
    with pytest.raises(BadRequest, match=r"image 1 is not placed"):
        fit("[img-0]", [b"x", b"y"])
    # With images nothing is cut (a cut could separate an image from its text): refused instead.
    with pytest.raises(BadRequest, match="exceeds the context length"):
        fit("[img-0]" + "x" * 10, [b"x"], n_ctx=8)


class _Runner:
    backend = "plain"
    context_length = 100
    capabilities = RunnerCapabilities()


def test_runner_without_images_refuses_them() -> None:
    params = GenerateParams(prompt_tokens=[1, 2], images=(b"png",), image_positions=(1,))
    with pytest.raises(BadRequest, match=r"missing data required for image input .*plain backend"):
        check_capabilities(_Runner(), params)  # type: ignore[arg-type]
    check_capabilities(_Runner(), GenerateParams(prompt_tokens=[1, 2]))  # type: ignore[arg-type]
