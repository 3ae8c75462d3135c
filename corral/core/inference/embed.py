"""Embeddings: resolve the model, lease a runner loaded for embeddings, tokenize, fit, pool, normalize."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from anyio import to_thread

from corral.core.engine import Runner
from corral.core.errors import BadRequest, ModelNotFound
from corral.core.events import RequestFinished, RequestStarted
from corral.core.inference.prepare import ModelContext, lookup
from corral.core.inference.types import EmbedInput, EmbedResult
from corral.core.inference.usecase import UseCase, failed_status

__all__ = ["Embedder", "fit_tokens", "l2_normalize"]

Vector = npt.NDArray[np.float32]


def l2_normalize(vector: Vector) -> Vector:
    """``vector / ‖vector‖`` in float32 (a zero vector stays zero)."""
    norm = float(np.linalg.norm(vector.astype(np.float64)))
    return vector if norm == 0.0 else (vector / np.float32(norm)).astype(np.float32)


def fit_tokens(runner: Runner, text: str, tokens: list[int], n_ctx: int, truncate: bool) -> list[int]:
    """``tokens`` if they fit in ``n_ctx``; else cut the text's tokens, keeping BOS/CLS and EOS/SEP.

    Without ``truncate`` an input that does not fit is 400 ``the input length exceeds the
    context length``, as in Ollama.
    """
    if len(tokens) <= n_ctx:
        return tokens
    if not truncate:
        raise BadRequest("the input length exceeds the context length")
    body = runner.tokenize(text, add_special=False)
    start = _find(tokens, body)
    if start < 0:  # the special tokens are not a plain prefix/suffix: cut the end
        return tokens[:n_ctx]
    prefix, suffix = tokens[:start], tokens[start + len(body) :]
    room = n_ctx - len(prefix) - len(suffix)
    if room <= 0:
        raise BadRequest("input after truncation exceeds maximum context length")
    return prefix + body[:room] + suffix


def _find(tokens: list[int], body: list[int]) -> int:
    """Where ``body`` starts inside ``tokens`` (added specials are only a few at either end)."""
    for start in range(0, min(4, len(tokens) - len(body)) + 1):
        if tokens[start : start + len(body)] == body:
            return start
    return -1


class Embedder(UseCase):
    """The embed use case over the store and the scheduler (``services.embedder``)."""

    async def embed(self, inp: EmbedInput, endpoint: str = "embed") -> EmbedResult:
        """Embed every input; an empty input list only loads the model (or unloads it with keep_alive 0).

        Errors: unknown model 404 ``model "NAME" not found, try pulling it first``; an input too long
        with ``truncate`` false 400 ``the input length exceeds the context length``; bad options 400.
        """
        rid = uuid.uuid4().hex[:16]
        start = time.perf_counter_ns()
        self.emit(RequestStarted(rid, endpoint, inp.model))
        status, tokens = 200, 0
        try:
            result = await self._embed(inp, start)
            tokens = result.prompt_eval_count
            return result
        except BaseException as exc:
            status = failed_status(exc)
            raise
        finally:
            elapsed = (time.perf_counter_ns() - start) / 1e9
            self.emit(RequestFinished(rid, endpoint, inp.model, status, elapsed, prompt_tokens=tokens))

    def _lookup(self, inp: EmbedInput) -> ModelContext:
        try:
            return lookup(self.store, inp.model, empty_status=400 if inp.model_required else 404)
        except ModelNotFound:
            if not inp.model:
                raise
            raise ModelNotFound(f'model "{inp.model}" not found, try pulling it first') from None

    async def _embed(self, inp: EmbedInput, start: int) -> EmbedResult:
        model = self._lookup(inp)
        opts = self._options(model, inp.options, embedding=True)
        keep_alive = self._keep_alive(inp.keep_alive_ns)
        if not inp.inputs and keep_alive == 0:
            await self.scheduler.touch(model.local, 0)
            return EmbedResult(total_duration=time.perf_counter_ns() - start)
        async with self.scheduler.lease(
            model.local, opts.load, opts.load_key(), keep_alive, opts.backend
        ) as lease:
            runner = lease.runner
            if not inp.inputs:
                return EmbedResult(
                    total_duration=time.perf_counter_ns() - start, load_duration=lease.load_duration_ns
                )
            # Ollama fits inputs to min(num_ctx, trained context); llama.cpp may round its own up.
            n_ctx = min(opts.load.num_ctx, runner.context_length)
            spec = lease.loaded.spec
            trained = spec.metadata.get(f"{spec.architecture}.context_length")
            if isinstance(trained, int) and trained > 0:
                n_ctx = min(n_ctx, trained)
            vectors, counts = await to_thread.run_sync(
                _embed_all, runner, inp.inputs, n_ctx, inp.truncate, abandon_on_cancel=False
            )
        out = [_shape(v, inp.dimensions, inp.normalize) for v in vectors]
        return EmbedResult(
            embeddings=out,
            token_counts=counts,
            total_duration=time.perf_counter_ns() - start,
            load_duration=lease.load_duration_ns,
        )


def _embed_all(
    runner: Runner, texts: Sequence[str], n_ctx: int, truncate: bool
) -> tuple[list[Vector], list[int]]:
    """Tokenize, fit and embed each text in turn (a worker thread: runners block)."""
    fitted = []
    for text in texts:
        fitted.append(fit_tokens(runner, text, runner.tokenize(text), n_ctx, truncate))
    if any(not tokens for tokens in fitted):
        raise BadRequest("cannot embed an empty input: the model adds no special tokens")
    # A runner that can embed several inputs in one batch of sequences (optional ``embed_many``).
    many = getattr(runner, "embed_many", None)
    raw = many(fitted) if many is not None and len(fitted) > 1 else [runner.embed(t) for t in fitted]
    vectors = [np.asarray(v, dtype=np.float32) for v in raw]
    return vectors, [len(t) for t in fitted]


def _shape(vector: Vector, dimensions: int, normalize: bool) -> Vector:
    """Ollama's post-processing: normalize; cut to ``dimensions`` and normalize again."""
    if not normalize:
        return vector
    vector = l2_normalize(vector)
    if 0 < dimensions < vector.shape[0]:
        vector = l2_normalize(vector[:dimensions])
    return vector
