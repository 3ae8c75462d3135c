"""Tokenize, detokenize and count a chat's prompt tokens without running the model.

The vocabulary comes from the GGUF's ``tokenizer.*`` metadata through corral's own
:class:`~corral.core.tokenizer.GGUFTokenizer` (built to match llama.cpp token for token), so no
weights are loaded. A model whose tokenizer that class does not implement is tokenized by its
runner instead: the model is loaded (or an already loaded one is used) as for a generation.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from anyio import to_thread

from corral.core.errors import BadRequest, GGUFError
from corral.core.inference import ChatInput
from corral.core.inference.prepare import ModelContext, lookup
from corral.core.inference.usecase import UseCase
from corral.core.scheduler import Lease
from corral.core.templates import Message, Template, build_chat_prompt
from corral.core.tokenizer import GGUFTokenizer, UnsupportedTokenizer

__all__ = ["Piece", "Tokenizing"]


@dataclass(frozen=True)
class Piece:
    """One token with the bytes it stands for."""

    id: int
    piece: bytes


@functools.lru_cache(maxsize=8)
def _tokenizer(path: str) -> GGUFTokenizer | UnsupportedTokenizer:
    # Blobs are content-addressed, so the path names the vocabulary; indexing a 262k-token
    # vocabulary takes about a second, so it is done once per model, not per request.
    try:
        return GGUFTokenizer.from_gguf(path)
    except UnsupportedTokenizer as exc:
        return exc
    except GGUFError as exc:  # a legacy GGML file: its runner tokenizes it
        return UnsupportedTokenizer(f"not a GGUF file ({exc})")


class Tokenizing(UseCase):
    """The tokenizer endpoints and ``count_tokens`` over the store (and, as a fallback, a runner)."""

    async def tokenize(self, model: str, text: str, *, add_special: bool, parse_special: bool) -> list[int]:
        """Token ids of ``text`` as the model's runner would produce them."""
        ctx = await to_thread.run_sync(lambda: lookup(self.store, model, empty_status=400))
        tok = await self._gguf_tokenizer(ctx)
        if tok is not None:
            return await to_thread.run_sync(
                lambda: tok.encode(text, add_special=add_special, parse_special=parse_special)
            )
        async with self._runner(ctx) as lease:
            runner = lease.runner
            return await to_thread.run_sync(
                lambda: runner.tokenize(text, add_special=add_special, parse_special=parse_special)
            )

    async def pieces(self, model: str, ids: Sequence[int]) -> list[Piece]:
        """Each token's bytes (control tokens as their text)."""
        ctx = await to_thread.run_sync(lambda: lookup(self.store, model, empty_status=400))
        tok = await self._gguf_tokenizer(ctx)
        if tok is not None:
            return await to_thread.run_sync(lambda: [Piece(i, tok.decode([i])) for i in ids])
        async with self._runner(ctx) as lease:
            runner = lease.runner
            return await to_thread.run_sync(lambda: [Piece(i, runner.detokenize([i])) for i in ids])

    async def detokenize(self, model: str, ids: Sequence[int]) -> bytes:
        """The bytes of ``ids`` joined (they may end inside a UTF-8 character)."""
        ctx = await to_thread.run_sync(lambda: lookup(self.store, model, empty_status=400))
        tok = await self._gguf_tokenizer(ctx)
        if tok is not None:
            return await to_thread.run_sync(tok.decode, ids)
        async with self._runner(ctx) as lease:
            return await to_thread.run_sync(lease.runner.detokenize, ids)

    async def count_chat(self, inp: ChatInput) -> int:
        """Tokens of the prompt ``inp`` renders to (whole, untruncated), as chat would feed it."""
        ctx = await to_thread.run_sync(lambda: lookup(self.store, inp.model, empty_status=400))
        prompt = await to_thread.run_sync(_render, ctx, inp)
        tok = await self._gguf_tokenizer(ctx)
        if tok is not None:
            return len(await to_thread.run_sync(tok.encode, prompt))
        async with self._runner(ctx) as lease:
            return len(await to_thread.run_sync(lease.runner.tokenize, prompt))

    async def _gguf_tokenizer(self, ctx: ModelContext) -> GGUFTokenizer | None:
        if ctx.local.model_path is None:
            raise BadRequest(f'"{ctx.requested}" has no model weights to tokenize with')
        tok = await to_thread.run_sync(_tokenizer, str(ctx.local.model_path))
        return tok if isinstance(tok, GGUFTokenizer) else None

    def _runner(self, ctx: ModelContext) -> AbstractAsyncContextManager[Lease]:
        opts = self._options(ctx, None)
        return self.scheduler.lease(
            ctx.local, opts.load, opts.load_key(), self._keep_alive(None), opts.backend
        )


def _render(ctx: ModelContext, inp: ChatInput) -> str:
    template = ctx.template or Template.parse("{{ .Prompt }}")
    model_messages = [Message(m.get("role", ""), m.get("content", "")) for m in ctx.local.messages]
    return build_chat_prompt(
        template,
        inp.messages,
        tools=inp.tools or None,
        think=inp.think if "thinking" in ctx.capabilities else None,
        system=ctx.local.system or "",
        model_messages=model_messages,
        has_projector=ctx.local.projector is not None,
    ).prompt
