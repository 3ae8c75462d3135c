"""Generate and chat: resolve the model, render the prompt, lease a runner, stream assembled chunks."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from anyio import to_thread

from corral.core.assemble import (
    StopMatcher,
    ThinkingParser,
    ToolCallParser,
    Utf8Joiner,
    starts_in_thinking,
    thinking_tags,
)
from corral.core.engine import GenerateParams, Runner, capabilities_of
from corral.core.errors import BadRequest
from corral.core.events import (
    CURRENT_REQUEST,
    FirstToken,
    InterTokenLatency,
    KvCacheUsage,
    RequestFinished,
    RequestStarted,
)
from corral.core.inference.images import tokenize_prompt
from corral.core.inference.prepare import (
    ModelContext,
    check_capabilities,
    generate_params,
    logprob_entry,
    lookup,
    require_capabilities,
    validate_logit_bias,
    validate_think,
    validate_top_logprobs,
)
from corral.core.inference.tokens import stream_tokens
from corral.core.inference.types import ChatInput, Chunk, GenerateInput, Metrics
from corral.core.inference.usecase import UseCase, failed_status
from corral.core.options import ResolvedOptions
from corral.core.scheduler import Lease
from corral.core.templates import ChatPrompt, Message, Template, build_chat_prompt, build_generate_prompt

__all__ = ["Inference"]


class Inference(UseCase):
    """The generate/chat use cases over the store and the scheduler."""

    def generate(self, inp: GenerateInput) -> AsyncIterator[Chunk]:
        """Stream the chunks of one ``/api/generate`` request (errors before the first chunk raise)."""
        return self._observed("generate", inp.model, self._generate(inp))

    def chat(self, inp: ChatInput) -> AsyncIterator[Chunk]:
        """Stream the chunks of one ``/api/chat`` request (errors before the first chunk raise)."""
        return self._observed("chat", inp.model, self._chat(inp))

    async def _observed(
        self, endpoint: str, model: str, chunks: AsyncIterator[Chunk]
    ) -> AsyncIterator[Chunk]:
        """Emit the request's lifecycle events around its chunks."""
        ctx = CURRENT_REQUEST.get()
        rid = ctx.request_id if ctx is not None else uuid.uuid4().hex[:16]
        start = time.perf_counter()
        self.emit(RequestStarted(rid, endpoint, model))
        status, last, prev = 200, None, 0.0
        gaps: list[float] = []
        try:
            async for chunk in chunks:
                if chunk.content or chunk.thinking or chunk.tool_calls:
                    now = time.perf_counter()
                    if prev:
                        gaps.append(now - prev)
                    else:
                        self.emit(FirstToken(rid, model, now - start))
                    prev = now
                last = chunk
                yield chunk
        except BaseException as exc:
            status = failed_status(exc)
            raise
        finally:
            m = last.metrics if last is not None else None
            if ctx is not None and m is not None:
                ctx.model = ctx.model or model
                ctx.prompt_tokens += m.prompt_eval_count
                ctx.eval_tokens += m.eval_count
            if gaps:
                self.emit(InterTokenLatency(rid, model, tuple(gaps)))
            self.emit(
                RequestFinished(
                    rid,
                    endpoint,
                    model,
                    status,
                    time.perf_counter() - start,
                    prompt_tokens=m.prompt_eval_count if m else 0,
                    eval_tokens=m.eval_count if m else 0,
                    eval_duration_s=m.eval_duration / 1e9 if m else 0.0,
                )
            )

    # --- shared ----------------------------------------------------------------------------

    async def _load_or_unload(self, model: ModelContext, opts: ResolvedOptions, keep_alive: int) -> str:
        if keep_alive == 0:
            await self.scheduler.touch(model.local, 0)
            return "unload"
        async with self.scheduler.lease(model.local, opts.load, opts.load_key(), keep_alive, opts.backend):
            pass
        return "load"

    # --- generate --------------------------------------------------------------------------

    async def _generate(self, inp: GenerateInput) -> AsyncIterator[Chunk]:
        start = time.perf_counter_ns()
        if inp.raw and (inp.template or inp.system or inp.context):
            raise BadRequest("raw mode does not support template, system, or context")
        validate_top_logprobs(inp.top_logprobs)
        model = lookup(self.store, inp.model, empty_status=404)
        if "completion" not in model.capabilities:
            raise BadRequest(f'"{inp.model}" does not support generate')
        validate_logit_bias(model, inp.logit_bias)
        validate_think(model, inp.think)
        needed = (["insert"] if inp.suffix else []) + (["vision"] if inp.images else [])
        require_capabilities(model, needed)
        opts = self._options(model, inp.options)
        keep_alive = self._keep_alive(inp.keep_alive_ns)
        request_template = Template.parse(inp.template) if inp.template else None
        if not inp.prompt and not inp.suffix and not inp.debug_render_only:
            reason = await self._load_or_unload(model, opts, keep_alive)
            yield Chunk(done=True, done_reason=reason)
            return

        def render(context_text: str | None) -> str:
            return build_generate_prompt(
                request_template or model.template,
                inp.prompt,
                system=inp.system or "",
                model_system=model.local.system or "",
                model_messages=_messages(model),
                suffix=inp.suffix,
                images=inp.images,
                raw=inp.raw,
                context=context_text,
                think=inp.think,
            )

        if inp.debug_render_only and not inp.context:
            yield Chunk(
                done=True, debug_info={"rendered_template": render(None), "image_count": len(inp.images)}
            )
            return
        async with self.scheduler.lease(
            model.local, opts.load, opts.load_key(), keep_alive, opts.backend
        ) as lease:
            runner = lease.runner
            context_text = runner.detokenize(inp.context).decode("utf-8", "replace") if inp.context else None
            prompt = render(context_text)
            if inp.debug_render_only:
                yield Chunk(
                    done=True, debug_info={"rendered_template": prompt, "image_count": len(inp.images)}
                )
                return
            params = await to_thread.run_sync(  # off the event loop, as for chat
                lambda: self._params(
                    runner, prompt, opts, inp.format, inp.logprobs, inp.top_logprobs, inp, inp.images
                )
            )
            tags = (
                thinking_tags(request_template or model.template)
                if "thinking" in model.capabilities
                else None
            )
            think = tags is not None and inp.think is not False
            opened = tags is not None and starts_in_thinking(prompt, *tags, prompt if inp.raw else "")
            async for chunk in self._run(
                lease,
                params,
                opts,
                start,
                tags if think else None,
                None,
                keep_context=not inp.raw,
                in_thinking=opened,
            ):
                yield chunk

    # --- chat ------------------------------------------------------------------------------

    async def _chat(self, inp: ChatInput) -> AsyncIterator[Chunk]:
        start = time.perf_counter_ns()
        validate_top_logprobs(inp.top_logprobs)
        model = lookup(self.store, inp.model, empty_status=400)
        if "completion" not in model.capabilities:
            raise BadRequest(f'"{inp.model}" does not support chat')
        validate_logit_bias(model, inp.logit_bias)
        validate_think(model, inp.think)
        needed = (["tools"] if inp.tools else []) + (
            ["vision"] if any(m.images for m in inp.messages) else []
        )
        require_capabilities(model, needed)
        opts = self._options(model, inp.options)
        keep_alive = self._keep_alive(inp.keep_alive_ns)
        template = model.template or Template.parse("{{ .Prompt }}")
        if not inp.messages:
            reason = await self._load_or_unload(model, opts, keep_alive)
            yield Chunk(done=True, done_reason=reason)
            return

        def render(tokenize: Callable[[str], list[int]] | None, num_ctx: int | None) -> ChatPrompt:
            return build_chat_prompt(
                template,
                inp.messages,
                tools=inp.tools or None,
                think=inp.think,
                system=model.local.system or "",
                model_messages=_messages(model),
                num_ctx=num_ctx,
                tokenize=tokenize,
                truncate=inp.truncate,
                has_projector=model.local.projector is not None,
            )

        if inp.debug_render_only:
            shown = render(None, None)
            yield Chunk(
                done=True, debug_info={"rendered_template": shown.prompt, "image_count": len(shown.images)}
            )
            return
        async with self.scheduler.lease(
            model.local, opts.load, opts.load_key(), keep_alive, opts.backend
        ) as lease:
            runner = lease.runner

            def prepare_chat() -> tuple[str, GenerateParams]:
                chat = render(runner.tokenize, runner.context_length)
                params = self._params(
                    runner, chat.prompt, opts, inp.format, inp.logprobs, inp.top_logprobs, inp, chat.images
                )
                return chat.prompt, params

            # Off the event loop: rendering and tokenizing a big conversation takes CPU time.
            prompt, params = await to_thread.run_sync(prepare_chat)
            tags = thinking_tags(template) if "thinking" in model.capabilities else None
            think = tags is not None and inp.think is not False
            last = inp.messages[-1]
            prefill = last.content if last.role == "assistant" else ""
            opened = tags is not None and starts_in_thinking(prompt, *tags, prefill)
            tools = ToolCallParser(template, inp.tools) if inp.tools else None
            async for chunk in self._run(
                lease,
                params,
                opts,
                start,
                tags if think else None,
                tools,
                keep_context=False,
                in_thinking=opened,
            ):
                yield chunk

    # --- the token loop --------------------------------------------------------------------

    @staticmethod
    def _params(
        runner: Runner,
        prompt: str,
        opts: ResolvedOptions,
        fmt: Any,
        logprobs: bool,
        top_logprobs: int,
        inp: GenerateInput | ChatInput,
        images: Sequence[bytes] = (),
    ) -> GenerateParams:
        """Tokenize and fit the prompt, and refuse what the runner cannot do, before it runs."""
        n_ctx = runner.context_length
        fitted = tokenize_prompt(
            runner.tokenize, prompt, images, n_ctx=n_ctx, num_keep=opts.num_keep, truncate=inp.truncate
        )
        params = generate_params(
            fitted.tokens, opts, fmt, logprobs, top_logprobs, inp.logit_bias, n_ctx=n_ctx, shift=inp.shift
        )
        params = dataclasses.replace(params, images=fitted.images, image_positions=fitted.positions)
        check_capabilities(runner, params)
        return params

    async def _run(
        self,
        lease: Lease,
        params: GenerateParams,
        opts: ResolvedOptions,
        start: int,
        think_tags: tuple[str, str] | None,
        tools: ToolCallParser | None,
        *,
        keep_context: bool,
        in_thinking: bool = False,
    ) -> AsyncIterator[Chunk]:
        cancel = threading.Event()
        joiner = Utf8Joiner()
        stops = StopMatcher(opts.stop)
        # A prompt that ends inside an open thinking block: the output starts as thinking.
        thinking = ThinkingParser(*think_tags, starts_in_thinking=in_thinking) if think_tags else None
        generated: list[int] = []
        eval_start = time.perf_counter_ns()
        first_token_at: int | None = None
        done_reason = "length"
        stop_hit = False
        n_ctx = lease.runner.context_length
        # A runner that shifts its context goes on past n_ctx; for the others the core stops there.
        bounded_by_context = not (params.shift and capabilities_of(lease.runner).context_shift)
        evaluated, cached = len(params.prompt_tokens), 0
        async for token in stream_tokens(lease.runner, params, cancel):
            if first_token_at is None:
                first_token_at = time.perf_counter_ns()
                if token.prompt is not None:
                    evaluated, cached = token.prompt.evaluated, token.prompt.cached
            if token.eog:
                done_reason = "stop"
                break
            generated.append(token.id)
            text, stop_hit = stops.push(joiner.push(token.piece))
            chunk = _split(text, thinking, tools)
            entry = logprob_entry(token)
            if entry is not None:
                chunk.logprobs.append(entry)
            if chunk.content or chunk.thinking or chunk.tool_calls or chunk.logprobs:
                yield chunk
            if stop_hit:
                done_reason = "stop"
                break
            if params.num_predict > 0 and len(generated) >= params.num_predict:
                break
            if bounded_by_context and len(params.prompt_tokens) + len(generated) >= n_ctx:
                break
        # Whatever the matchers still hold is real output unless a stop string cut it off.
        tail = "" if stop_hit else stops.push(joiner.flush())[0] + stops.flush()
        chunk = _split(tail, thinking, tools, final=True)
        if chunk.content or chunk.thinking or chunk.tool_calls:
            yield chunk
        end = time.perf_counter_ns()
        first = first_token_at or end
        metrics = Metrics(
            total_duration=end - start,
            load_duration=lease.load_duration_ns,
            prompt_eval_count=evaluated,
            prompt_cached=cached,
            prompt_eval_duration=max(0, first - eval_start),
            eval_count=len(generated),
            eval_duration=max(0, end - first),
        )
        context = list(params.prompt_tokens) + generated if keep_context else None
        self.emit(_kv_usage(lease, len(params.prompt_tokens) + len(generated)))
        yield Chunk(done=True, done_reason=done_reason, metrics=metrics, context=context)


def _kv_usage(lease: Lease, this_request: int) -> KvCacheUsage:
    """The runner's KV occupancy over all its sequences when it reports one (optional
    ``kv_usage() -> (used, capacity)``), else this request's share of its context."""
    runner, name = lease.runner, lease.loaded.local.name.display_shortest()
    report = getattr(runner, "kv_usage", None)
    if report is not None:
        used, capacity = report()
        return KvCacheUsage(name, int(used), int(capacity))
    return KvCacheUsage(name, this_request, runner.context_length)


def _messages(model: ModelContext) -> list[Message]:
    return [Message(role=m.get("role", ""), content=m.get("content", "")) for m in model.local.messages]


def _split(
    text: str, thinking: ThinkingParser | None, tools: ToolCallParser | None, *, final: bool = False
) -> Chunk:
    """Route generated text through the thinking and tool-call parsers."""
    chunk = Chunk()
    content = text
    if thinking is not None:
        th, content = thinking.push(text)
        if final:
            th2, c2 = thinking.flush()
            th, content = th + th2, content + c2
        chunk.thinking = th
    if tools is not None:
        content, calls = tools.push(content)
        if final:
            c2, calls2 = tools.flush()
            content, calls = content + c2, calls + calls2
        chunk.tool_calls = calls
    chunk.content = content
    return chunk
