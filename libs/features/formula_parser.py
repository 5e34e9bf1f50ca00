"""Recursive-descent parser for ``name = expression`` lines; the grammar is the whole attack surface.

line       := NAME '=' expression END
expression := term (('+' | '-') term)*          left-associative
term       := unary (('*' | '/') unary)*        left-associative
unary      := '-' unary | primary               binds tighter than * and /
primary    := NUMBER | NAME '(' arguments ')' | NAME | '(' expression ')'
arguments  := expression (',' expression)*
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from libs.features.formula_ast import Binary, Call, Column, Negate, Node, Number
from libs.features.formula_errors import FormulaSyntaxError, UnknownFunctionError
from libs.features.formula_functions import FUNCTIONS
from libs.features.formula_lexer import Token, TokenKind, tokenize

MAX_DEPTH = 64


def parse_line(source: str) -> tuple[str, Node]:
    """The output name and expression of one ``name = expression`` line."""
    parser = _Parser(source)
    name = parser.expect(TokenKind.NAME, "an output name")
    parser.expect(TokenKind.EQUALS, "'=' after the output name")
    expression = parser.expression()
    parser.expect(TokenKind.END, "an operator or the end of the formula")
    return name.text, expression


def parse_expression(source: str) -> Node:
    """An expression alone, for callers that keep the output name elsewhere."""
    parser = _Parser(source)
    expression = parser.expression()
    parser.expect(TokenKind.END, "an operator or the end of the formula")
    return expression


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        if token.kind is not TokenKind.END:
            self.index += 1
        return token

    def error(self, expected: str) -> FormulaSyntaxError:
        token = self.current
        found = token.kind.value if token.kind is TokenKind.END else repr(token.text)
        return FormulaSyntaxError(f"expected {expected}, found {found}", self.source, token.position)

    def expect(self, kind: TokenKind, expected: str) -> Token:
        if self.current.kind is not kind:
            raise self.error(expected)
        return self.advance()

    def at_operator(self, *operators: str) -> bool:
        return self.current.kind is TokenKind.OPERATOR and self.current.text in operators

    @contextmanager
    def nested(self) -> Iterator[None]:
        """Bounds recursion, so a pathological formula is a syntax error rather than a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            reason = f"formula nests deeper than {MAX_DEPTH} levels"
            raise FormulaSyntaxError(reason, self.source, self.current.position)
        yield
        self.depth -= 1

    def expression(self) -> Node:
        with self.nested():
            node = self.term()
            while self.at_operator("+", "-"):
                operator = self.advance().text
                node = Binary(operator, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at_operator("*", "/"):
            operator = self.advance().text
            node = Binary(operator, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at_operator("-"):
            self.advance()
            with self.nested():
                return Negate(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind is TokenKind.NUMBER:
            self.advance()
            return Number(float(token.text))
        if token.kind is TokenKind.LEFT_PAREN:
            self.advance()
            node = self.expression()
            self.expect(TokenKind.RIGHT_PAREN, "')'")
            return node
        if token.kind is TokenKind.NAME:
            self.advance()
            if self.current.kind is TokenKind.LEFT_PAREN:
                return self.call(token)
            return Column(token.text)
        raise self.error("a column, a number, a function call or '('")

    def call(self, name: Token) -> Node:
        function = FUNCTIONS.get(name.text)
        if function is None:
            raise UnknownFunctionError(name.text, self.source, name.position, sorted(FUNCTIONS))
        self.expect(TokenKind.LEFT_PAREN, "'('")
        arguments = [self.expression()]
        while self.current.kind is TokenKind.COMMA:
            self.advance()
            arguments.append(self.expression())
        self.expect(TokenKind.RIGHT_PAREN, "',' or ')'")
        if len(arguments) != len(function.parameters):
            raise FormulaSyntaxError(
                f"{function.signature} takes {len(function.parameters)} argument(s), got {len(arguments)}",
                self.source,
                name.position,
            )
        return Call(name.text, tuple(arguments))
