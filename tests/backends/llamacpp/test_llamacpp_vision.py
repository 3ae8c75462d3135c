"""The projector on its own: loading (and refusing) one, image cells in a prompt, runner-level refusals."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
from llamacpp_models import tiny_spec

from corral.backends.llamacpp import LlamaCppBackend
from corral.backends.llamacpp.vision import ImageBlock, image_key, image_start, splice
from corral.core.engine import GenerateParams, LoadParams, SamplingOptions
from corral.core.errors import BadRequest, CorralError
from corral.testing.tiny_projector import tiny_png, write_tiny_projector

LOAD = LoadParams(num_ctx=64, num_parallel=1, num_thread=1)


def _block(image: bytes, n: int) -> ImageBlock:
    return ImageBlock(image_key(image), n, np.zeros(n, dtype=np.float32), None, lambda _: None)


def test_splice_puts_each_image_before_its_token_and_keys_its_cells() -> None:
    a, b = _block(b"a", 2), _block(b"b", 3)
    cells, blocks = splice([1, 10, 11], [1, 3], [[7, a], [b]])
    assert cells == [1, 7, a.key, a.key, 10, 11, b.key, b.key, b.key]
    assert blocks == {2: a, 6: b}
    assert image_key(b"a") < 0 and image_key(b"a") != image_key(b"b")


def test_a_cached_prefix_never_ends_inside_an_image() -> None:
    k = image_key(b"img")
    prompt = [1, 5, k, k, k, 9]
    assert [image_start(prompt, n) for n in range(7)] == [0, 1, 2, 2, 2, 5, 6]


def test_projectors_that_do_not_fit_are_refused_at_load(tiny_gguf: Path, tmp_path: Path) -> None:
    narrow = write_tiny_projector(tmp_path / "p32.gguf", text_embd=32)  # the model has n_embd 64
    for projector in (narrow, tiny_gguf):  # another size; not a projector at all
        spec = dataclasses.replace(tiny_spec(tiny_gguf), projector=projector)
        with pytest.raises(CorralError, match="could not load the projector of model"):
            LlamaCppBackend().load(spec, LOAD)


def test_runner_refusals(tiny_gguf: Path, tmp_path: Path) -> None:
    projector = write_tiny_projector(tmp_path / "p.gguf", text_embd=64)
    runner = LlamaCppBackend().load(dataclasses.replace(tiny_spec(tiny_gguf), projector=projector), LOAD)
    plain = LlamaCppBackend().load(tiny_spec(tiny_gguf), LOAD)
    try:
        assert runner.capabilities.images and not plain.capabilities.images
        image = tiny_png(8, 8, (1, 2, 3))
        greedy = SamplingOptions(temperature=0)

        def params(tokens: list[int], positions: tuple[int, ...], *images: bytes) -> GenerateParams:
            return GenerateParams(tokens, greedy, num_predict=2, images=images, image_positions=positions)

        cases = [
            (plain, params([1, 5], (1,), image), "missing data required for image input"),
            (runner, params([1, 5], (1,), b"not an image"), "image 0: unsupported or corrupt"),
            (runner, params([1, 5], (2,), image), "must not end with an image"),
            (runner, params([1, 5], (3,), image), "image positions"),
            (runner, params([1, 5], (), image), "image positions"),
        ]
        # Text that fits alone, but not with the image's 4 cells.
        n = runner.context_length - 1
        cases.append((runner, params([1] + [5] * n, (1,), image), "exceeds the context length"))
        for target, request, message in cases:
            with pytest.raises(BadRequest, match=message):
                list(target.generate(request, threading.Event()))
        # After all that, it still serves: the image's 4 cells are evaluated with the 2 tokens.
        out = list(runner.generate(params([1, 5], (1,), image), threading.Event()))
        assert out[0].prompt is not None and out[0].prompt.evaluated == 6
    finally:
        runner.close()
        plain.close()
