"""The parsed form of a formula: plain frozen dataclasses, so trees compare, hash and pickle like values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Number:
    value: float

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class Column:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Negate:
    operand: Node

    def __str__(self) -> str:
        return f"(-{self.operand})"


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node

    def __str__(self) -> str:
        # Fully parenthesised, so a printed tree shows exactly how precedence and associativity resolved.
        return f"({self.left} {self.operator} {self.right})"


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple[Node, ...]

    def __str__(self) -> str:
        return f"{self.function}({', '.join(str(argument) for argument in self.arguments)})"


Node = Number | Column | Negate | Binary | Call


def referenced_columns(node: Node) -> frozenset[str]:
    """The input columns a tree reads; fit checks them against X before any data is touched."""
    match node:
        case Column(name):
            return frozenset({name})
        case Number():
            return frozenset()
        case Negate(operand):
            return referenced_columns(operand)
        case Binary(_, left, right):
            return referenced_columns(left) | referenced_columns(right)
        case Call(_, arguments):
            return frozenset().union(*(referenced_columns(argument) for argument in arguments))
    raise TypeError(f"not a formula node: {node!r}")
