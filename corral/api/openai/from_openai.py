"""Translating OpenAI requests into core inputs: messages, sampling options, formats, tool_choice.

Pure functions, no I/O. Errors are :class:`BadRequest` with Ollama's wording where Ollama has
one (``invalid message content type: float64``...) and a plain sentence where it has none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from corral.api.forcing import call_schema, choose_tools
from corral.api.openai.messages import chat_messages, go_type
from corral.api.openai.protocol import ChatCompletionRequest, CompletionRequest, StreamOptions
from corral.core.errors import BadRequest
from corral.core.inference import ChatInput, GenerateInput
from corral.core.templates import Tool

__all__ = [
    "ChatPlan",
    "CompletionPlan",
    "call_schema",
    "from_chat_request",
    "from_completion_request",
    "think_from_effort",
]

MAX_N = 128
_EFFORT: dict[str, bool | str] = {"none": False, "minimal": "low", "xhigh": "max", "ultra": "max"}
_EFFORT |= {level: level for level in ("low", "medium", "high", "max")}
"""``reasoning_effort`` → the core's ``think``, as Ollama maps it."""


@dataclass
class ChatPlan:
    """A chat completion request as core work: one ChatInput per choice."""

    model: str
    inputs: list[ChatInput]
    stream: bool
    include_usage: bool
    force_tool: bool  #: output is constrained to one tool call, parsed by the adapter


@dataclass
class CompletionPlan:
    """A text completion request as core work: one GenerateInput per choice."""

    model: str
    inputs: list[GenerateInput]
    echo: list[str]  #: text put before each choice's output ("" unless ``echo``)
    stream: bool
    include_usage: bool
    logprobs: int | None
    prompts: int  #: distinct prompts; choices are ordered prompt by prompt


# --- shared -----------------------------------------------------------------------------------


def _stop(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                raise BadRequest(f"invalid type for 'stop' field: {go_type(item)}")
        return list(value)
    raise BadRequest(f"invalid type for 'stop' field: {go_type(value)}")


def _choices(n: int | None) -> int:
    count = 1 if n is None else n
    if not 1 <= count <= MAX_N:
        raise BadRequest(f"n must be between 1 and {MAX_N}")
    return count


def _options(
    req: ChatCompletionRequest | CompletionRequest, max_tokens: int | None, index: int
) -> dict[str, Any]:
    """Sampling options. Like Ollama, temperature and top_p default to OpenAI's 1.0, not the
    model's; choice ``index`` > 0 of a seeded request samples with ``seed + index``."""
    options: dict[str, Any] = {
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "top_p": 1.0 if not req.top_p else req.top_p,
    }
    if max_tokens is not None:
        options["num_predict"] = max_tokens
    if req.seed is not None:
        options["seed"] = req.seed + index
    if req.frequency_penalty is not None:
        options["frequency_penalty"] = req.frequency_penalty
    if req.presence_penalty is not None:
        options["presence_penalty"] = req.presence_penalty
    stop = _stop(req.stop)
    if stop is not None:
        options["stop"] = stop
    return options


def _include_usage(opts: StreamOptions | None) -> bool:
    return bool(opts is not None and opts.include_usage)


# --- chat: formats and tools ------------------------------------------------------------------


def _response_format(value: Any) -> Any:
    """``response_format`` → the core's ``format``: "json", a JSON schema, or None."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if schema is None:
            return "json"
        if not isinstance(schema, dict):
            raise BadRequest("response_format.json_schema.schema must be an object")
        return schema
    raise BadRequest(
        f"invalid response_format type: {kind!r}; expected 'text', 'json_object' or 'json_schema'"
    )


def _tool_name_of(tool: dict[str, Any]) -> str:
    fn = tool.get("function")
    return str(fn.get("name") or "") if isinstance(fn, dict) else ""


def _tool_choice(choice: Any, tools: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    """(tools offered to the model, JSON schema forcing a call or None)."""
    if choice is None or choice in ("auto", "none", "required"):
        return choose_tools(choice or "auto", None, tools)
    fn = choice.get("function") if isinstance(choice, dict) and choice.get("type") == "function" else None
    name = fn.get("name") if isinstance(fn, dict) else None
    if not isinstance(name, str):
        raise BadRequest(
            "invalid tool_choice: expected 'none', 'auto', 'required' or "
            '{"type": "function", "function": {"name": ...}}'
        )
    return choose_tools("named", name, tools)


def _think(req: ChatCompletionRequest) -> bool | str | None:
    effort = req.reasoning_effort
    if effort is None and isinstance(req.reasoning, dict):
        effort = req.reasoning.get("effort")
    return think_from_effort(effort)


def think_from_effort(effort: Any) -> bool | str | None:
    """A reasoning effort (``none``, ``low``... ``xhigh``) → the core's ``think``; None stays None."""
    if effort is None:
        return None
    if not isinstance(effort, str) or effort not in _EFFORT:
        raise BadRequest(f"invalid reasoning value: {json.dumps(effort)}")
    return _EFFORT[effort]


def logit_bias(value: Any) -> dict[int, float]:
    """OpenAI's ``logit_bias``: token ids as strings (JSON keys) → a number in [-100, 100]."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"invalid type for 'logit_bias' field: {go_type(value)}")
    out: dict[int, float] = {}
    for key, bias in value.items():
        try:
            token = int(key, 10)
        except ValueError:
            raise BadRequest(f"invalid logit_bias key {json.dumps(key)}: keys must be token ids") from None
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not -100 <= bias <= 100:
            raise BadRequest(
                f"invalid logit_bias value for token {key}: {json.dumps(bias)} "
                "(must be a number between -100 and 100)"
            )
        out[token] = float(bias)
    return out


def from_chat_request(req: ChatCompletionRequest) -> ChatPlan:
    """Translate ``/v1/chat/completions`` into one core ChatInput per requested choice."""
    messages = chat_messages(req.messages)
    offered, forced = _tool_choice(req.tool_choice, req.tools or [])
    try:
        tools = [Tool.from_json(t) for t in offered]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadRequest(f"invalid tool: {exc}") from None
    fmt = forced if forced is not None else _response_format(req.response_format)
    think = _think(req)
    bias = logit_bias(req.logit_bias)
    top = req.top_logprobs or 0
    max_tokens = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    inputs = [
        ChatInput(
            model=req.model,
            messages=messages,
            tools=tools,
            format=fmt,
            options=_options(req, max_tokens, i),
            think=think,
            logprobs=bool(req.logprobs),
            top_logprobs=top,
            debug_render_only=req.debug_render_only,
            logit_bias=bias,
        )
        for i in range(_choices(req.n))
    ]
    return ChatPlan(
        req.model, inputs, bool(req.stream), _include_usage(req.stream_options), forced is not None
    )


# --- completions ------------------------------------------------------------------------------


def _prompts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(p, str) for p in value):
        return list(value)
    if isinstance(value, list) and value:
        raise BadRequest("invalid prompt: token arrays are not supported, send text")
    raise BadRequest(f"invalid type for 'prompt' field: {go_type(value)}")


def from_completion_request(req: CompletionRequest) -> CompletionPlan:
    """Translate ``/v1/completions``: choices are ordered prompt by prompt, ``n`` each."""
    prompts = _prompts(req.prompt)
    n = _choices(req.n)
    if req.best_of is not None and req.best_of not in (1, n):
        raise BadRequest("best_of is not supported (only best_of equal to n)")
    if req.echo and req.logprobs is not None:
        raise BadRequest("echo with logprobs is not supported: prompt token logprobs are not computed")
    if req.logprobs is not None and not 0 <= req.logprobs <= 20:
        raise BadRequest("logprobs must be between 0 and 20")
    bias = logit_bias(req.logit_bias)
    inputs, echo = [], []
    for prompt in prompts:
        for i in range(n):
            inputs.append(
                GenerateInput(
                    model=req.model,
                    prompt=prompt,
                    suffix=req.suffix or "",
                    options=_options(req, req.max_tokens, i),
                    logprobs=req.logprobs is not None,
                    top_logprobs=req.logprobs or 0,
                    logit_bias=bias,
                )
            )
            echo.append(prompt if req.echo else "")
    return CompletionPlan(
        req.model,
        inputs,
        echo,
        bool(req.stream),
        _include_usage(req.stream_options),
        req.logprobs,
        len(prompts),
    )
