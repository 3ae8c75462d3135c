"""Parser from tokens to the Go template parse tree, with Go's checks and error messages."""

from __future__ import annotations

from collections.abc import Iterable

from corral.core.templates._strconv import parse_number, unquote
from corral.core.templates.errors import TemplateParseError, position_of
from corral.core.templates.lexer import Kind, Token, tokenize
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

__all__ = ["MAX_DEPTH", "parse"]

MAX_DEPTH = 100
"""Deepest nesting of if/range/with blocks and parentheses a template may use."""

_OPERAND_START = frozenset(
    {
        Kind.BOOL,
        Kind.CHAR_CONST,
        Kind.DOT,
        Kind.FIELD,
        Kind.IDENT,
        Kind.NIL,
        Kind.NUMBER,
        Kind.RAW_STRING,
        Kind.STRING,
        Kind.VAR,
        Kind.LPAREN,
    }
)
_NOT_EXECUTABLE = (BoolNode, DotNode, NilNode, NumberNode, StringNode)


class _End(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{end}}"


class _Else(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{else}}"


class _Parser:
    def __init__(self, text: str, functions: Iterable[str]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.last = len(self.tokens) - 1
        self.i = 0
        self.functions = frozenset(functions)
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------

    def error(self, message: str, pos: int | None = None) -> TemplateParseError:
        at = self.tokens[min(max(self.i - 1, 0), self.last)].pos if pos is None else pos
        line, col = position_of(self.text, at)
        return TemplateParseError(message, line, col)

    def next(self) -> Token:
        tok = self.tokens[min(self.i, self.last)]
        self.i += 1
        return tok

    def peek(self) -> Token:
        return self.tokens[min(self.i, self.last)]

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.kind is Kind.SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        while self.peek().kind is Kind.SPACE:
            self.i += 1
        return self.peek()

    def unexpected(self, tok: Token, context: str) -> TemplateParseError:
        return self.error(f"unexpected {tok.describe()} in {context}", tok.pos)

    def expect(self, kind: Kind, context: str) -> Token:
        tok = self.next_non_space()
        if tok.kind is not kind:
            raise self.unexpected(tok, context)
        return tok

    # -- lists and actions ---------------------------------------------------------------

    def parse(self) -> ListNode:
        root = ListNode(0)
        while self.peek().kind is not Kind.EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                raise self.error(f"unexpected {node}", node.pos)
            root.nodes.append(node)
        return root

    def item_list(self) -> tuple[ListNode, Node]:
        body = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().kind is not Kind.EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return body, node
            body.nodes.append(node)
        raise self.error("unexpected EOF", len(self.text))

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.kind is Kind.TEXT:
            return TextNode(tok.pos, tok.value)
        if tok.kind is Kind.LEFT:
            return self.action()
        raise self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        if tok.kind is Kind.KEYWORD:
            word = tok.value
            if word == "if":
                return IfNode(*self.control("if"))
            if word == "range":
                return RangeNode(*self.control("range"))
            if word == "with":
                return WithNode(*self.control("with"))
            if word == "end":
                self.expect(Kind.RIGHT, "end")
                return _End(tok.pos)
            if word == "else":
                following = self.peek_non_space()
                if following.kind is Kind.KEYWORD and following.value in ("if", "with"):
                    return _Else(following.pos)
                self.expect(Kind.RIGHT, "else")
                return _Else(tok.pos)
            if word in ("break", "continue"):
                nxt = self.next_non_space()
                if nxt.kind is not Kind.RIGHT:
                    raise self.unexpected(nxt, "{{" + word + "}}")
                if self.range_depth == 0:
                    raise self.error(f"{{{{{word}}}}} outside {{{{range}}}}", tok.pos)
                return BreakNode(tok.pos) if word == "break" else ContinueNode(tok.pos)
            raise self.error(
                f"undefined template specified: {{{{{word}}}}} (named templates are not supported)", tok.pos
            )
        self.i -= 1
        start = self.peek_non_space().pos
        return ActionNode(start, self.pipeline("command", Kind.RIGHT))

    def control(self, context: str) -> tuple[int, PipeNode, ListNode, ListNode | None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("template nesting too deep")
        saved_vars = len(self.vars)
        try:
            pipe = self.pipeline(context, Kind.RIGHT)
            if context == "range":
                self.range_depth += 1
            body, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_body: ListNode | None = None
            if isinstance(nxt, _Else):
                following = self.peek()
                if (
                    context in ("if", "with")
                    and following.kind is Kind.KEYWORD
                    and following.value == context
                ):
                    self.next()
                    else_body = ListNode(nxt.pos)
                    chained = (
                        IfNode(*self.control("if")) if context == "if" else WithNode(*self.control("with"))
                    )
                    else_body.nodes.append(chained)
                else:
                    else_body, nxt = self.item_list()
                    if not isinstance(nxt, _End):
                        raise self.error(f"expected end; found {nxt}", nxt.pos)
            return pipe.pos, pipe, body, else_body
        finally:
            del self.vars[saved_vars:]
            self.depth -= 1

    # -- pipelines -----------------------------------------------------------------------

    def pipeline(self, context: str, end: Kind) -> PipeNode:
        pipe = PipeNode(self.peek_non_space().pos)
        while self.peek_non_space().kind is Kind.VAR:
            var_index = self.i
            var = self.next()
            nxt = self.peek_non_space()
            if nxt.kind in (Kind.ASSIGN, Kind.DECLARE):
                pipe.is_assign = nxt.kind is Kind.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(var.pos, (var.value,)))
                self.vars.append(var.value)
                break
            if nxt.kind is Kind.CHAR and nxt.value == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(var.pos, (var.value,)))
                self.vars.append(var.value)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (Kind.VAR, Kind.RIGHT, Kind.RPAREN):
                        continue
                    raise self.error("range can only initialize variables")
                raise self.error(f"too many declarations in {context}")
            self.i = var_index
            break
        while True:
            tok = self.next_non_space()
            if tok.kind is end:
                self.check_pipeline(pipe, context, tok)
                return pipe
            if tok.kind in _OPERAND_START:
                self.i -= 1
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(tok, context)

    def check_pipeline(self, pipe: PipeNode, context: str, tok: Token) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}", tok.pos)
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], _NOT_EXECUTABLE):
                raise self.error(f"non executable command in pipeline stage {stage}", cmd.pos)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.kind is Kind.SPACE:
                continue
            if tok.kind in (Kind.RIGHT, Kind.RPAREN):
                self.i -= 1
            elif tok.kind is not Kind.PIPE:
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.error("empty command", cmd.pos)
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().kind is not Kind.FIELD:
            return node
        fields: list[str] = []
        while self.peek().kind is Kind.FIELD:
            fields.extend(self.next().value[1:].split("."))
        if isinstance(node, FieldNode):
            return FieldNode(node.pos, (*node.idents, *fields))
        if isinstance(node, VariableNode):
            return VariableNode(node.pos, (*node.idents, *fields))
        if isinstance(node, _NOT_EXECUTABLE):
            raise self.error(f'unexpected . after term "{node}"', node.pos)
        return ChainNode(node.pos, node, tuple(fields))

    def term(self) -> Node | None:
        tok = self.next_non_space()
        kind = tok.kind
        if kind is Kind.IDENT:
            if tok.value not in self.functions:
                raise self.error(f'function "{tok.value}" not defined', tok.pos)
            return IdentifierNode(tok.pos, tok.value)
        if kind is Kind.DOT:
            return DotNode(tok.pos)
        if kind is Kind.NIL:
            return NilNode(tok.pos)
        if kind is Kind.VAR:
            if tok.value not in self.vars:
                raise self.error(f'undefined variable "{tok.value}"', tok.pos)
            return VariableNode(tok.pos, (tok.value,))
        if kind is Kind.FIELD:
            return FieldNode(tok.pos, (tok.value[1:],))
        if kind is Kind.BOOL:
            return BoolNode(tok.pos, tok.value == "true")
        if kind in (Kind.NUMBER, Kind.CHAR_CONST):
            try:
                return NumberNode(tok.pos, parse_number(tok.value), tok.value)
            except ValueError as exc:
                raise self.error(str(exc), tok.pos) from None
        if kind is Kind.LPAREN:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error("template nesting too deep", tok.pos)
            pipe = self.pipeline("parenthesized pipeline", Kind.RPAREN)
            self.depth -= 1
            return pipe
        if kind in (Kind.STRING, Kind.RAW_STRING):
            try:
                return StringNode(tok.pos, unquote(tok.value), tok.value)
            except ValueError as exc:
                raise self.error(str(exc), tok.pos) from None
        self.i -= 1
        return None


def parse(text: str, functions: Iterable[str]) -> ListNode:
    """Parse template source into its root list node; ``functions`` names the callable functions."""
    return _Parser(text, functions).parse()
