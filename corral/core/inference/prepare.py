"""Checks and translations shared by generate and chat: model lookup, capabilities, format, think."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corral.core.catalog.describe import capabilities, load_template
from corral.core.engine import GenerateParams, Runner, TokenOut, capabilities_of
from corral.core.errors import BadRequest, ModelNotFound
from corral.core.gguf import GGUFInfo, read_model_file
from corral.core.inference.types import LogprobEntry
from corral.core.limits import token_limit
from corral.core.names import parse_name
from corral.core.options import ResolvedOptions
from corral.core.store import LocalModel, Store
from corral.core.templates.jinja_template import ChatTemplate

__all__ = [
    "ModelContext",
    "check_capabilities",
    "format_params",
    "generate_params",
    "logprob_entry",
    "lookup",
    "require_capabilities",
    "validate_logit_bias",
    "validate_think",
    "validate_top_logprobs",
]

_THINK_LEVELS = ("high", "medium", "low", "max")


def _gguf_info(path: Path) -> GGUFInfo:
    """GGUF metadata, read once per blob: reading a 262k-token vocabulary costs ~0.1 s per request."""
    return _cached_gguf_info(str(path))


@functools.lru_cache(maxsize=32)
def _cached_gguf_info(path: str) -> GGUFInfo:
    # Blobs are content-addressed and never rewritten, so the path identifies the content.
    return read_model_file(Path(path), keep_arrays=False)


class ModelContext:
    """A resolved model with its parsed template and capabilities."""

    def __init__(self, local: LocalModel, requested: str) -> None:
        self.local = local
        self.requested = requested
        self.template: ChatTemplate | None = load_template(local)
        info = _gguf_info(local.model_path) if local.model_path is not None else None
        self.vocab_size: int | None = info.vocab_size if info is not None else None
        self.capabilities = capabilities(info, self.template, local.projector is not None)

    @property
    def full_name(self) -> str:
        return self.local.name.display_full()


def lookup(store: Store, name: str, *, empty_status: int) -> ModelContext:
    """Resolve ``name`` with Ollama's errors: empty → ``empty_status``; invalid → 400; missing → 404."""
    if not name:
        if empty_status == 404:
            raise ModelNotFound("model '' not found")
        raise BadRequest("model is required")
    parsed = parse_name(name)
    if not parsed.is_valid():
        raise BadRequest("invalid model name")
    try:
        local = store.resolve(parsed)
    except ModelNotFound:
        raise ModelNotFound(f"model '{name}' not found") from None
    return ModelContext(local, name)


def require_capabilities(model: ModelContext, needed: list[str]) -> None:
    """400 ``<fq-name> does not support X`` for each missing capability (joined with newlines)."""
    missing = [c for c in needed if c not in model.capabilities]
    if missing:
        raise BadRequest("\n".join(f"{model.full_name} does not support {c}" for c in missing))


def validate_think(model: ModelContext, think: bool | str | None) -> None:
    """Ollama's think checks: valid values, and truthy think only on thinking-capable models."""
    if isinstance(think, str) and think not in _THINK_LEVELS:
        raise BadRequest(
            f'invalid think value: "{think}" (must be "high", "medium", "low", "max", true, or false)'
        )
    if think and "thinking" not in model.capabilities:
        raise BadRequest(f'"{model.requested}" does not support thinking')


def validate_top_logprobs(top: int) -> None:
    """``top_logprobs`` must lie in 0..20."""
    if not 0 <= top <= 20:
        raise BadRequest("top_logprobs must be between 0 and 20")


def validate_logit_bias(model: ModelContext, bias: Mapping[int, float]) -> None:
    """400 for a biased token id outside the model's vocabulary (checked before any runner runs)."""
    if not bias or model.vocab_size is None:
        return
    outside = sorted(t for t in bias if not 0 <= t < model.vocab_size)
    if outside:
        listed = ", ".join(map(str, outside[:5])) + (", ..." if len(outside) > 5 else "")
        raise BadRequest(
            f"logit_bias token ids out of range: {listed} (the vocabulary has {model.vocab_size} tokens)"
        )


def format_params(fmt: Any) -> tuple[bool, Mapping[str, Any] | None]:
    """``format`` → (json mode, JSON schema). ``""``/null mean none; anything else is refused."""
    if fmt is None or fmt == "":
        return False, None
    if fmt == "json":
        return True, None
    if isinstance(fmt, dict):
        return False, fmt
    raise BadRequest(f'invalid format: {fmt!r}; expected "json" or a valid JSON Schema object')


def generate_params(
    prompt_tokens: list[int],
    opts: ResolvedOptions,
    fmt: Any,
    logprobs: bool,
    top_logprobs: int,
    logit_bias: Mapping[int, float] | None = None,
    *,
    n_ctx: int,
    shift: bool = True,
) -> GenerateParams:
    """The runner's view of one generation (prompt already fitted; ``num_predict`` made a positive
    limit by :func:`corral.core.limits.token_limit`)."""
    json_mode, schema = format_params(fmt)
    return GenerateParams(
        prompt_tokens=prompt_tokens,
        sampling=opts.sampling,
        num_predict=token_limit(opts.num_predict, n_ctx),
        num_keep=opts.num_keep,
        shift=shift,
        json_mode=json_mode,
        json_schema=schema,
        logprobs=logprobs or top_logprobs > 0,
        top_logprobs=top_logprobs,
        logit_bias=dict(logit_bias or {}),
    )


def check_capabilities(runner: Runner, params: GenerateParams) -> None:
    """Refuse (400) what ``runner`` cannot honour, before anything runs."""
    caps = capabilities_of(runner)
    constrained = params.grammar is not None or params.json_schema is not None or params.json_mode
    if constrained and not caps.constrained_output:
        raise BadRequest(
            f"the {runner.backend} backend cannot constrain output (format, JSON schema or forced tool call)"
        )
    if params.logprobs and not caps.logprobs:
        raise BadRequest(f"the {runner.backend} backend does not report logprobs")
    if params.images and not caps.images:
        # Ollama's words when a runner has no vision model loaded.
        raise BadRequest(
            "this model is missing data required for image input "
            f"(the {runner.backend} backend cannot read images)"
        )


def logprob_entry(token: TokenOut) -> LogprobEntry | None:
    """The log-probabilities a runner reported for one token, or None when it reported none."""
    if token.logprob is None:
        return None
    return LogprobEntry(token.logprob, tuple(token.top_logprobs))
