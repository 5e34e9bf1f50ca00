"""Every way a formula can be wrong, each naming the culprit, so a bad params file fails readably at fit."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

_LISTED_COLUMNS = 30


class FormulaError(ValueError):
    """Formulas are configuration, so their mistakes are bad values; ``except ValueError`` catches them."""

    _init_args: tuple[Any, ...] = ()

    def __reduce__(self) -> str | tuple[Any, ...]:
        # Rebuilt from the constructor's arguments, so an error raised in a joblib worker unpickles intact.
        if self._init_args:
            return (type(self), self._init_args)
        return super().__reduce__()


class FormulaSyntaxError(FormulaError):
    """Shows the formula with a caret under the offending character, like Python's own syntax errors."""

    def __init__(self, reason: str, source: str, position: int) -> None:
        self._init_args = (reason, source, position)
        self.reason = reason
        self.source = source
        self.position = position
        super().__init__(f"{reason} at position {position}\n    {source}\n    {' ' * position}^")


class UnknownFunctionError(FormulaSyntaxError):
    def __init__(self, name: str, source: str, position: int, allowed: Sequence[str]) -> None:
        super().__init__(f"unknown function '{name}' (allowed: {', '.join(allowed)})", source, position)
        self._init_args = (name, source, position, tuple(allowed))
        self.name = name


class UnknownColumnError(FormulaError):
    def __init__(self, column: str, formula: str, available: Sequence[str]) -> None:
        self._init_args = (column, formula, tuple(available))
        self.column = column
        self.formula = formula
        self.available = tuple(available)
        super().__init__(
            f"formula '{formula}' reads unknown column '{column}'{_suggestion(column, available)}; "
            f"available columns: {_listing(available)}"
        )


class OutputNameError(FormulaError):
    """An output that would overwrite an input column or another formula's output."""


def _suggestion(column: str, available: Sequence[str]) -> str:
    close = difflib.get_close_matches(column, list(available), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _listing(available: Sequence[str]) -> str:
    if not available:
        return "(none)"
    shown = ", ".join(available[:_LISTED_COLUMNS])
    hidden = len(available) - _LISTED_COLUMNS
    return f"{shown}, ... ({hidden} more)" if hidden > 0 else shown
