"""A parsed Ollama prompt template and Ollama's ways of executing it (messages, legacy, fill-in-middle)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from corral.core.templates.exec import MAX_OUTPUT, MAX_STEPS, Budget, execute
from corral.core.templates.funcs import FUNCTIONS
from corral.core.templates.nodes import (
    ActionNode,
    BranchNode,
    CommandNode,
    FieldNode,
    ListNode,
    Node,
    PipeNode,
    VariableNode,
)
from corral.core.templates.parser import parse
from corral.core.templates.types import Message, TemplateValues
from corral.core.templates.view import message_view, to_go, tools_view

__all__ = ["DEFAULT_TEMPLATE", "Template", "collate"]

DEFAULT_TEMPLATE = "{{ .Prompt }}"
"""The template Ollama uses for a model that has none."""


def _identifiers(node: Node, out: list[str]) -> None:
    """Collect field and variable identifiers the way Ollama's ``Identifiers`` walk does."""
    if isinstance(node, ListNode):
        for child in node.nodes:
            _identifiers(child, out)
    elif isinstance(node, ActionNode):
        _identifiers(node.pipe, out)
    elif isinstance(node, BranchNode):
        _identifiers(node.pipe, out)
        _identifiers(node.body, out)
        if node.else_body is not None:
            _identifiers(node.else_body, out)
    elif isinstance(node, PipeNode):
        for cmd in node.cmds:
            for arg in cmd.args:
                _identifiers(arg, out)
    elif isinstance(node, (FieldNode, VariableNode)):
        out.extend(node.idents)


def _response_node(pos: int) -> ActionNode:
    cmd = CommandNode(pos, [FieldNode(pos, ("Response",))])
    return ActionNode(pos, PipeNode(pos, cmds=[cmd]))


def _cut_after_response(root: ListNode) -> ListNode:
    """Copy of ``root`` with every node after the first ``.Response`` field reference removed.

    Mirrors Ollama's ``deleteNode``: branch conditions are not inspected, and within a pipeline the
    arguments after the ``.Response`` reference are dropped too.
    """
    cut = False

    def walk(node: Node) -> Node | None:
        nonlocal cut
        if isinstance(node, FieldNode) and "Response" in node.idents:
            cut = True
            return node
        if cut:
            return None
        if isinstance(node, ListNode):
            kept = [n for n in (walk(c) for c in node.nodes) if n is not None]
            return ListNode(node.pos, kept)
        if isinstance(node, BranchNode):
            body = walk(node.body)
            else_body = walk(node.else_body) if node.else_body is not None else None
            assert body is None or isinstance(body, ListNode)
            assert else_body is None or isinstance(else_body, ListNode)
            return dataclasses.replace(node, body=body or ListNode(node.pos), else_body=else_body)
        if isinstance(node, ActionNode):
            pipe = walk(node.pipe)
            return None if pipe is None else ActionNode(node.pos, pipe)  # type: ignore[arg-type]
        if isinstance(node, PipeNode):
            cmds: list[CommandNode] = []
            for cmd in node.cmds:
                args = [a for a in (walk(x) for x in cmd.args) if a is not None]
                if not args:
                    return None
                cmds.append(CommandNode(cmd.pos, args))
            return PipeNode(node.pos, node.decl, node.is_assign, cmds)
        return node

    result = walk(root)
    return result if isinstance(result, ListNode) else ListNode(root.pos)


def collate(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    """Join system contents with blank lines, and merge consecutive same-role messages (never tool ones)."""
    system: list[str] = []
    collated: list[Message] = []
    for m in messages:
        if m.role == "system":
            system.append(m.content)
        if collated and collated[-1].role == m.role and m.role != "tool":
            collated[-1] = dataclasses.replace(
                collated[-1], content=collated[-1].content + "\n\n" + m.content
            )
        else:
            collated.append(m)
    return "\n\n".join(system), collated


class Template:
    """A parsed Go prompt template.

    ``Template.parse(text)`` raises ``TemplateParseError`` (a 400 ``TemplateError``); rendering raises
    ``TemplateExecError`` (500). Like Ollama, a template that names neither ``.Messages`` nor
    ``.Response`` gets a ``{{ .Response }}`` appended.
    """

    __slots__ = ("_cut", "_ollama_root", "_root", "_text", "_vars", "max_output", "max_steps")

    def __init__(self, text: str, root: ListNode) -> None:
        self._text = text
        self._root = root
        found: list[str] = []
        _identifiers(root, found)
        names = {name.lower() for name in found}
        self._ollama_root = root
        if "messages" not in names and "response" not in names:
            self._ollama_root = ListNode(root.pos, [*root.nodes, _response_node(len(text))])
            names.add("response")
        self._vars = tuple(sorted(names))
        self._cut: ListNode | None = None
        self.max_steps = MAX_STEPS
        self.max_output = MAX_OUTPUT

    @classmethod
    def parse(cls, text: str) -> Template:
        """Parse Go template source (CRLF line ends are kept as they are)."""
        return cls(text, parse(text, FUNCTIONS))

    @property
    def text(self) -> str:
        """The template source as given."""
        return self._text

    @property
    def vars(self) -> tuple[str, ...]:
        """Lower-cased field and variable names the template references (Ollama's ``Vars``)."""
        return self._vars

    def uses(self, name: str) -> bool:
        """Whether the template references ``name`` (e.g. "Messages", "Tools", "Suffix", "Think")."""
        return name.lower().lstrip(".") in self._vars

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Template({self._text[:40]!r}...)" if len(self._text) > 40 else f"Template({self._text!r})"

    # -- rendering -----------------------------------------------------------------------

    def _budget(self) -> Budget:
        return Budget(max_steps=self.max_steps, max_output=self.max_output)

    def render(self, data: Mapping[str, Any] | Any) -> str:
        """Execute the template as written, once, with ``data`` as dot.

        ``data`` may hold plain values, dicts, lists and the API dataclasses (shown under Go names).
        Unlike ``execute`` this adds no ``{{ .Response }}`` and applies none of Ollama's data shapes.
        """
        out: list[str] = []
        execute(self._root, to_go(data), self._text, self._budget(), out)
        return "".join(out)

    def execute(self, values: TemplateValues) -> str:
        """Render the way Ollama's ``Template.Execute`` does: fill-in-middle, messages, or legacy turns."""
        budget = self._budget()
        out: list[str] = []
        think = {"Think": values.think, "ThinkLevel": values.think_level, "IsThinkSet": values.is_think_set}
        if values.prompt and values.suffix:
            data = {"Prompt": values.prompt, "Suffix": values.suffix, "Response": "", **think}
            execute(self._ollama_root, data, self._text, budget, out)
            return "".join(out)
        system, messages = collate(values.messages)
        if "messages" in self._vars:
            data = {
                "System": system,
                "Messages": [message_view(m) for m in messages],
                "Tools": tools_view(values.tools),
                "Response": "",
                **think,
            }
            execute(self._ollama_root, data, self._text, budget, out)
            return "".join(out)
        return self._execute_legacy(messages, think, budget)

    def _execute_legacy(self, messages: list[Message], think: dict[str, Any], budget: Budget) -> str:
        out: list[str] = []
        system = prompt = response = ""

        def run(root: ListNode) -> None:
            data = {"System": system, "Prompt": prompt, "Response": response, **think}
            execute(root, data, self._text, budget, out)

        for m in messages:
            if m.role == "system":
                if prompt or response:
                    run(self._ollama_root)
                    prompt = response = ""
                system = m.content
            elif m.role == "user":
                if response:
                    run(self._ollama_root)
                    system = prompt = response = ""
                prompt = m.content
            elif m.role == "assistant":
                response = m.content
        if self._cut is None:
            self._cut = _cut_after_response(self._ollama_root)
        run(self._cut)
        return "".join(out)
