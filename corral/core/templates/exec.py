"""The interpreter: walks a parse tree over Go-model data with Go's semantics, within a step/output budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from corral.core.templates.errors import TemplateExecError, TemplateLimitError, position_of
from corral.core.templates.funcs import FUNCTIONS, FuncError
from corral.core.templates.gofmt import format_value
from corral.core.templates.nodes import (
    ActionNode,
    BoolNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TextNode,
    VariableNode,
    WithNode,
)
from corral.core.templates.values import Struct, go_type_name, is_true

__all__ = ["MAX_OUTPUT", "MAX_STEPS", "Budget", "execute"]

MAX_STEPS = 1_000_000
"""Default number of nodes and iterations one render may evaluate."""
MAX_OUTPUT = 4 * 1024 * 1024
"""Default size, in characters, of the output and of any string built while rendering."""


@dataclass(slots=True)
class Budget:
    """Work left for one render; shared across the several executions of a legacy template."""

    max_steps: int = MAX_STEPS
    max_output: int = MAX_OUTPUT
    steps: int = 0
    output: int = 0


class _Missing:
    __slots__ = ()


_MISSING = _Missing()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _map_sort_key(key: Any) -> tuple[int, Any]:
    if isinstance(key, bool):
        return (1, key)
    if isinstance(key, (int, float)):
        return (2, key)
    return (3, str(key))


class _State:
    __slots__ = ("at", "budget", "out", "text", "vars")

    def __init__(self, text: str, budget: Budget, out: list[str], data: Any) -> None:
        self.text = text
        self.budget = budget
        self.out = out
        self.vars: list[list[Any]] = [["$", data]]
        self.at: Node | None = None

    # -- errors, output, variables -------------------------------------------------------

    def error(self, message: str) -> NoReturn:
        if self.at is None:
            raise TemplateExecError(message)
        line, col = position_of(self.text, self.at.pos)
        raise TemplateExecError(message, f"{line}:{col}", str(self.at))

    def step(self) -> None:
        budget = self.budget
        budget.steps += 1
        if budget.steps > budget.max_steps:
            raise TemplateLimitError(f"template exceeded {budget.max_steps} evaluation steps")

    def write(self, text: str) -> None:
        budget = self.budget
        budget.output += len(text)
        if budget.output > budget.max_output:
            raise TemplateLimitError(f"template output exceeded {budget.max_output} characters")
        self.out.append(text)

    def var_value(self, name: str) -> Any:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        self.error(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        self.error(f"undefined variable: {name}")

    # -- statements ----------------------------------------------------------------------

    def walk(self, dot: Any, node: Node) -> None:
        budget = self.budget
        budget.steps += 1
        if budget.steps > budget.max_steps:
            self.step()  # raises the limit error
        if isinstance(node, TextNode):
            self.write(node.text)
        elif isinstance(node, ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.write("<no value>" if value is None else format_value(value))
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, (IfNode, WithNode)):
            self.walk_if_or_with(dot, node, isinstance(node, WithNode))
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        else:  # pragma: no cover - the parser produces no other statement nodes
            self.error(f"unknown node: {node}")

    def walk_if_or_with(self, dot: Any, node: IfNode | WithNode, is_with: bool) -> None:
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        if is_true(value):
            self.walk(value if is_with else dot, node.body)
        elif node.else_body is not None:
            self.walk(dot, node.else_body)
        del self.vars[mark:]

    def walk_range(self, dot: Any, node: RangeNode) -> None:
        mark = len(self.vars)
        pipe = node.pipe
        self.at = pipe
        value = self.eval_commands(dot, pipe)
        decl = [v.idents[0] for v in pipe.decl]
        for name in decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append([name, value])
        inner = len(self.vars)
        if value is None:
            items: Any = ()
        elif isinstance(value, (list, tuple)):
            items = enumerate(value)
        elif isinstance(value, dict):
            items = ((k, value[k]) for k in sorted(value, key=_map_sort_key))
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(decl) > 1:
                self.error(f"can't use {value} to iterate over more than one variable")
            items = ((i, i) for i in range(value))
        else:
            self.error(f"range can't iterate over {format_value(value)}")
        ran = False
        for index, elem in items:
            ran = True
            self.step()
            if decl:
                if pipe.is_assign:
                    if len(decl) > 1:
                        self.set_var(decl[0], index)
                        self.set_var(decl[1], elem)
                    else:
                        self.set_var(decl[0], elem)
                else:
                    self.vars[inner - 1][1] = elem
                    if len(decl) > 1:
                        self.vars[inner - 2][1] = index
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[inner:]
        if not ran and node.else_body is not None:
            self.walk(dot, node.else_body)
        del self.vars[mark:]

    # -- expressions ---------------------------------------------------------------------

    def eval_commands(self, dot: Any, pipe: PipeNode) -> Any:
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        return value

    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        value = self.eval_commands(dot, pipe)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.idents[0], value)
            else:
                self.vars.append([var.idents[0], value])
        return value

    def not_a_function(self, args: list[Node] | None, final: Any) -> None:
        if (args is not None and len(args) > 1) or final is not _MISSING:
            assert args is not None
            self.error(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        budget = self.budget
        budget.steps += 1
        if budget.steps > budget.max_steps:
            self.step()  # raises the limit error
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            return self.eval_field_chain(dot, dot, first, first.idents, cmd.args, final)
        if isinstance(first, VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        self.at = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, (StringNode, NumberNode, BoolNode)):
            return first.value
        self.error(f"{first} is not a command")

    def eval_arg(self, dot: Any, node: Node) -> Any:
        self.at = node
        if isinstance(node, FieldNode):
            return self.eval_field_chain(dot, dot, node, node.idents, [node], _MISSING)
        if isinstance(node, VariableNode):
            return self.eval_variable(dot, node, None, _MISSING)
        if isinstance(node, (StringNode, NumberNode, BoolNode)):
            return node.value
        if isinstance(node, DotNode):
            return dot
        if isinstance(node, NilNode):
            return None
        if isinstance(node, PipeNode):
            return self.eval_pipeline(dot, node)
        if isinstance(node, IdentifierNode):
            return self.eval_function(dot, node, node, None, _MISSING)
        if isinstance(node, ChainNode):
            return self.eval_chain(dot, node, None, _MISSING)
        self.error(f"can't handle {node} for arg")

    def eval_variable(self, dot: Any, node: VariableNode, args: list[Node] | None, final: Any) -> Any:
        self.at = node
        value = self.var_value(node.idents[0])
        if len(node.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, node, node.idents[1:], args, final)

    def eval_chain(self, dot: Any, chain: ChainNode, args: list[Node] | None, final: Any) -> Any:
        self.at = chain
        if isinstance(chain.node, NilNode):
            self.error(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, chain.node)
        return self.eval_field_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: Node,
        idents: tuple[str, ...],
        args: list[Node] | None,
        final: Any,
    ) -> Any:
        for name in idents[:-1]:
            receiver = self.eval_field(name, node, None, _MISSING, receiver)
        return self.eval_field(idents[-1], node, args, final, receiver)

    def eval_field(self, name: str, node: Node, args: list[Node] | None, final: Any, receiver: Any) -> Any:
        self.at = node
        if name.startswith("_"):
            self.error(f"can't evaluate field {name}: names starting with '_' are not accessible")
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        if receiver is None:
            self.error(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, Struct):
            fields = receiver.fields
            if name in fields:
                if has_args:
                    self.error(f"{name} has arguments but cannot be invoked as function")
                return fields[name]
            self.error(f"can't evaluate field {name} in type {receiver.type_name}")
        if isinstance(receiver, dict):
            if has_args:
                self.error(f"{name} is not a method but has arguments")
            return receiver.get(name)
        self.error(f"can't evaluate field {name} in type {go_type_name(receiver)}")

    def eval_function(
        self, dot: Any, ident: IdentifierNode, cmd: Node, args: list[Node] | None, final: Any
    ) -> Any:
        self.at = ident
        name = ident.name
        fn = FUNCTIONS.get(name)
        if fn is None:
            self.error(f'"{name}" is not a defined function')
        arg_nodes = args[1:] if args else []
        count = len(arg_nodes) + (final is not _MISSING)
        if count < fn.min_args or (fn.max_args is not None and count > fn.max_args):
            if fn.max_args is None:
                self.error(
                    f"wrong number of args for {name}: want at least {fn.min_args} got {len(arg_nodes)}"
                )
            self.error(f"wrong number of args for {name}: want {fn.min_args} got {count}")
        if name in ("and", "or"):
            stop_on = name == "or"
            value: Any = None
            for arg in arg_nodes:
                value = self.eval_arg(dot, arg)
                if is_true(value) == stop_on:
                    return value
            return final if final is not _MISSING else value
        values = [self.eval_arg(dot, arg) for arg in arg_nodes]
        if final is not _MISSING:
            values.append(final)
        try:
            result = fn.impl(values)
        except FuncError as exc:
            self.at = cmd
            self.error(f"error calling {name}: {exc}")
        if isinstance(result, (str, list, bytes)) and len(result) > self.budget.max_output:
            raise TemplateLimitError(f"{name} built a value larger than {self.budget.max_output} characters")
        return result


def execute(root: ListNode, data: Any, text: str, budget: Budget, out: list[str]) -> None:
    """Render ``root`` with ``data`` as dot and ``$``, appending text to ``out``."""
    _State(text, budget, out, data).walk(data, root)
