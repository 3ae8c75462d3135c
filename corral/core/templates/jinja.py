"""Sandboxed rendering of Hugging Face Jinja chat templates (GGUF ``tokenizer.chat_template``).

Only ``ImmutableSandboxedEnvironment`` is used: these templates come from untrusted model files.
On top of the sandbox, every render has a budget: loop iterations, calls and filter uses count as
steps, strings and lists built by operators, calls and filters are size-checked, and the output is
capped, so a hostile template stops with an error instead of exhausting CPU or memory.
"""

from __future__ import annotations

import contextvars
import datetime
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import loopcontrols
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from corral.core.errors import TemplateError
from corral.core.templates.errors import TemplateExecError, TemplateLimitError, TemplateParseError
from corral.core.templates.exec import MAX_OUTPUT, MAX_STEPS
from corral.core.templates.types import Message, Tool, ToolParameters, ToolProperty

__all__ = ["render_jinja", "template_variables"]


class _Budget:
    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = 0


_budget: contextvars.ContextVar[_Budget] = contextvars.ContextVar("corral_jinja_budget")


def _charge(n: int = 1) -> None:
    budget = _budget.get()
    budget.steps += n
    if budget.steps > MAX_STEPS:
        raise TemplateLimitError(f"chat template exceeded {MAX_STEPS} evaluation steps")


def _check_size(value: Any) -> Any:
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_OUTPUT:
        raise TemplateLimitError(f"chat template built a value larger than {MAX_OUTPUT} items")
    return value


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        _charge()
        yield item


class _CodeGenerator(CodeGenerator):
    """Routes ``~`` concatenation and ``for`` iterables through the budget checks."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        node.iter = nodes.Call(nodes.EnvironmentAttribute("counted_iter"), [node.iter], [], None, None)
        super().visit_For(node, frame)


def _budgeted_filter(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _charge()
        return _check_size(fn(*args, **kwargs))

    return wrapper


class _Environment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        self.filters["tojson"] = _tojson
        self.filters = {name: _budgeted_filter(fn) for name, fn in self.filters.items()}
        self.globals["raise_exception"] = _raise_exception
        self.globals["strftime_now"] = _strftime_now

    def counted_iter(self, items: Iterable[Any]) -> Iterator[Any]:
        return _counted(items)

    def checked_concat(self, parts: Sequence[Any]) -> str:
        _charge()
        return str(_check_size("".join(map(str, parts))))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _charge()
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(count, int)
                if sized and len(seq) * max(count, 0) > MAX_OUTPUT:
                    raise TemplateLimitError("chat template built a value that is too large")
        if operator == "**" and isinstance(right, int) and abs(right) > 1024:
            raise TemplateLimitError("chat template exponent is too large")
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _charge()
        return _check_size(super().call(__context, __obj, *args, **kwargs))


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


class _RaisedByTemplate(Exception):
    pass


def _raise_exception(message: str) -> None:
    raise _RaisedByTemplate(message)


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


@functools.cache
def _environment() -> _Environment:
    return _Environment()


@functools.lru_cache(maxsize=32)
def _compile(source: str) -> jinja2.Template:
    try:
        return _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateParseError(f"chat template: {exc.message}", exc.lineno, 0) from None


@functools.lru_cache(maxsize=64)
def template_variables(source: str) -> frozenset[str]:
    """The variables a chat template reads from its context (empty if it does not parse).

    Analysed with the sandboxed environment: Jinja's compiler folds constant expressions, and an
    unsandboxed one would evaluate ``'x' * 10**10`` from a hostile template while merely compiling.
    """
    try:
        ast = _environment().parse(source)
    except jinja2.TemplateSyntaxError:
        return frozenset()
    return frozenset(meta.find_undeclared_variables(ast))


def _property_dict(prop: ToolProperty) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if prop.any_of is not None:
        out["anyOf"] = [_property_dict(p) for p in prop.any_of]
    if prop.type:
        out["type"] = prop.type[0] if len(prop.type) == 1 else list(prop.type)
    if prop.items is not None:
        out["items"] = prop.items
    if prop.description:
        out["description"] = prop.description
    if prop.enum is not None:
        out["enum"] = list(prop.enum)
    if prop.properties is not None:
        out["properties"] = {k: _property_dict(v) for k, v in prop.properties.items()}
    if prop.required is not None:
        out["required"] = list(prop.required)
    return out


def _parameters_dict(params: ToolParameters) -> dict[str, Any]:
    out: dict[str, Any] = {"type": params.type}
    if params.defs is not None:
        out["$defs"] = params.defs
    if params.items is not None:
        out["items"] = params.items
    if params.required is not None:
        out["required"] = list(params.required)
    out["properties"] = {k: _property_dict(v) for k, v in (params.properties or {}).items()}
    return out


def _tool_dict(tool: Tool) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": tool.function.name}
    if tool.function.description:
        fn["description"] = tool.function.description
    fn["parameters"] = _parameters_dict(tool.function.parameters)
    return {"type": tool.type or "function", "function": fn}


def _message_dict(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.thinking:
        out["reasoning_content"] = message.thinking
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "type": "function",
                **({"id": c.id} if c.id else {}),
                "function": {"name": c.function.name, "arguments": dict(c.function.arguments)},
            }
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.tool_name:
        out["name"] = message.tool_name
    return out


def render_jinja(
    chat_template: str,
    messages: Sequence[Message],
    *,
    tools: Sequence[Tool] | None = None,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render a Hugging Face chat template in the sandbox, with the variables such templates expect.

    ``extra`` adds template variables (``enable_thinking``, ``date_string``, ...). Syntax errors raise
    ``TemplateParseError``; ``raise_exception(...)`` in the template raises ``TemplateError`` (400);
    other failures and exhausted budgets raise ``TemplateExecError`` (500).
    """
    template = _compile(chat_template)
    context: dict[str, Any] = {
        "messages": [_message_dict(m) for m in messages],
        "add_generation_prompt": add_generation_prompt,
        "bos_token": bos_token,
        "eos_token": eos_token,
        **(extra or {}),
    }
    if tools is not None:
        context["tools"] = [_tool_dict(t) for t in tools]
    token = _budget.set(_Budget())
    out: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimitError(f"chat template output exceeded {MAX_OUTPUT} characters")
            out.append(chunk)
    except TemplateError:
        raise
    except _RaisedByTemplate as exc:
        raise TemplateError(f"chat template: {exc}") from None
    except RecursionError:
        raise TemplateExecError("chat template: recursion too deep") from None
    except Exception as exc:  # any failure inside untrusted template code is a render error
        raise TemplateExecError(f"chat template: {type(exc).__name__}: {exc}") from None
    finally:
        _budget.reset(token)
    return "".join(out)
