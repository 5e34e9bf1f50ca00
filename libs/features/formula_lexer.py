"""Splits a formula line into tokens; any character outside the grammar is a syntax error right here.

Only ASCII names, decimal numbers, ``+ - * / ( ) , =`` and spaces exist, so attribute access (``a.b``),
indexing (``a[0]``), strings and keywords cannot reach the parser at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from libs.features.formula_errors import FormulaSyntaxError


class TokenKind(Enum):
    NAME = "name"
    NUMBER = "number"
    OPERATOR = "operator"
    LEFT_PAREN = "'('"
    RIGHT_PAREN = "')'"
    COMMA = "','"
    EQUALS = "'='"
    END = "end of formula"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    position: int


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PATTERNS = ((TokenKind.NUMBER, _NUMBER), (TokenKind.NAME, _NAME))
_SINGLE = {
    "+": TokenKind.OPERATOR,
    "-": TokenKind.OPERATOR,
    "*": TokenKind.OPERATOR,
    "/": TokenKind.OPERATOR,
    "(": TokenKind.LEFT_PAREN,
    ")": TokenKind.RIGHT_PAREN,
    ",": TokenKind.COMMA,
    "=": TokenKind.EQUALS,
}


def tokenize(source: str) -> list[Token]:
    """Always ends with an END token, so the parser never indexes past the list."""
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        char = source[position]
        if char in " \t":
            position += 1
            continue
        if char in _SINGLE:
            tokens.append(Token(_SINGLE[char], char, position))
            position += 1
            continue
        for kind, pattern in _PATTERNS:
            match = pattern.match(source, position)
            if match:
                tokens.append(Token(kind, match.group(), position))
                position = match.end()
                break
        else:
            raise FormulaSyntaxError(f"unexpected character {char!r}", source, position)
    tokens.append(Token(TokenKind.END, "", len(source)))
    return tokens
