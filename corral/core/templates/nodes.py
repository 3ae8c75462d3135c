"""The parse tree of a Go template, with Go's ``String()`` rendering of each node for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ActionNode",
    "BoolNode",
    "BranchNode",
    "BreakNode",
    "ChainNode",
    "CommandNode",
    "ContinueNode",
    "DotNode",
    "FieldNode",
    "IdentifierNode",
    "IfNode",
    "ListNode",
    "NilNode",
    "Node",
    "NumberNode",
    "PipeNode",
    "RangeNode",
    "StringNode",
    "TextNode",
    "VariableNode",
    "WithNode",
]


@dataclass(slots=True, eq=False)
class Node:
    """Base of every node: ``pos`` is the offset of the node in the template source."""

    pos: int


@dataclass(slots=True, eq=False)
class TextNode(Node):
    """Literal text copied to the output."""

    text: str

    def __str__(self) -> str:
        return repr(self.text)


@dataclass(slots=True, eq=False)
class FieldNode(Node):
    """``.A.B``: a field chain starting at dot."""

    idents: tuple[str, ...]

    def __str__(self) -> str:
        return "." + ".".join(self.idents)


@dataclass(slots=True, eq=False)
class VariableNode(Node):
    """``$x`` or ``$x.A.B``; ``idents[0]`` is the variable name including the ``$``."""

    idents: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.idents)


@dataclass(slots=True, eq=False)
class IdentifierNode(Node):
    """A function name."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(slots=True, eq=False)
class DotNode(Node):
    """``.``, the current value."""

    def __str__(self) -> str:
        return "."


@dataclass(slots=True, eq=False)
class NilNode(Node):
    """The untyped ``nil`` constant."""

    def __str__(self) -> str:
        return "nil"


@dataclass(slots=True, eq=False)
class BoolNode(Node):
    """``true`` or ``false``."""

    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(slots=True, eq=False)
class NumberNode(Node):
    """A numeric or character constant, kept with its source text."""

    value: int | float
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(slots=True, eq=False)
class StringNode(Node):
    """A string constant, kept with its quoted source text."""

    value: str
    quoted: str

    def __str__(self) -> str:
        return self.quoted


@dataclass(slots=True, eq=False)
class CommandNode(Node):
    """One stage of a pipeline: an operand followed by arguments."""

    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


@dataclass(slots=True, eq=False)
class PipeNode(Node):
    """A pipeline, optionally declaring (``:=``) or assigning (``=``) variables."""

    decl: list[VariableNode] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        head = ""
        if self.decl:
            head = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass(slots=True, eq=False)
class ChainNode(Node):
    """``(pipeline).A.B`` or any other term followed by field accesses."""

    node: Node
    fields: tuple[str, ...]

    def __str__(self) -> str:
        base = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return base + "".join("." + f for f in self.fields)


@dataclass(slots=True, eq=False)
class ListNode(Node):
    """A sequence of nodes."""

    nodes: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


@dataclass(slots=True, eq=False)
class ActionNode(Node):
    """``{{ pipeline }}``: evaluate and print unless it declares variables."""

    pipe: PipeNode

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass(slots=True, eq=False)
class BranchNode(Node):
    """Shared shape of if, range and with."""

    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None

    keyword = ""

    def __str__(self) -> str:
        tail = "" if self.else_body is None else "{{else}}" + str(self.else_body)
        return f"{{{{{self.keyword} {self.pipe}}}}}{self.body}{tail}{{{{end}}}}"


@dataclass(slots=True, eq=False)
class IfNode(BranchNode):
    """``{{ if }}``; an ``else if`` is an else body holding a single IfNode."""

    keyword = "if"


@dataclass(slots=True, eq=False)
class WithNode(BranchNode):
    """``{{ with }}``: like if, but sets dot to the value."""

    keyword = "with"


@dataclass(slots=True, eq=False)
class RangeNode(BranchNode):
    """``{{ range }}`` over a slice, map or integer."""

    keyword = "range"


@dataclass(slots=True, eq=False)
class BreakNode(Node):
    """``{{ break }}`` inside a range."""

    def __str__(self) -> str:
        return "{{break}}"


@dataclass(slots=True, eq=False)
class ContinueNode(Node):
    """``{{ continue }}`` inside a range."""

    def __str__(self) -> str:
        return "{{continue}}"
