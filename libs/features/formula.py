"""Derived features as one-line formulas, e.g. ``revenue_per_visit = revenue / visits``, kept in params files.

The language is deliberately tiny and parsed by our own recursive-descent parser (no ``eval``, no Python
``ast``): column names, numbers, ``+ - * /``, unary minus, parentheses and the functions ``log1p(x)``,
``sqrt(x)``, ``abs(x)``, ``clip(x, lo, hi)``, ``min(a, b)``, ``max(a, b)``. A formula reads input columns
only, never another formula's output, so the order of formulas never matters.

Semantics: every result is float64. ``x / 0`` is ``fill_value`` (0.0 unless configured), never inf;
``NaN`` inputs propagate; ``log1p``/``sqrt`` outside their domain give NaN.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from libs.features.formula_ast import Node, referenced_columns
from libs.features.formula_errors import FormulaError, OutputNameError, UnknownColumnError
from libs.features.formula_eval import evaluate
from libs.features.formula_functions import FloatArray
from libs.features.formula_parser import parse_line

if TYPE_CHECKING:  # hints only: services evaluate formulas over plain arrays and ship without pandas
    import pandas as pd  # pants: no-infer-dep

Formulas = Sequence[str] | Mapping[str, str]


@dataclass(frozen=True)
class Formula:
    name: str
    expression: Node
    source: str

    @property
    def columns(self) -> frozenset[str]:
        return referenced_columns(self.expression)

    def evaluate(
        self, data: pd.DataFrame | Mapping[str, npt.ArrayLike], *, fill_value: float = 0.0
    ) -> FloatArray:
        """One float64 value per row of ``data`` (a DataFrame or a mapping of equal-length arrays)."""
        available = [str(name) for name in data]
        for column in sorted(self.columns):
            if column not in data:
                raise UnknownColumnError(column, self.source, available)
        arrays = {column: as_float(data[column], column) for column in self.columns}
        return evaluate(self.expression, arrays, n_rows=row_count(data), fill_value=fill_value)

    def __str__(self) -> str:
        return self.source


def parse_formula(line: str) -> Formula:
    """Parses one ``name = expression`` line; raises FormulaSyntaxError with a caret on bad input."""
    if not isinstance(line, str):
        raise TypeError(f"a formula is a 'name = expression' string, got {type(line).__name__}")
    source = line.strip()
    name, expression = parse_line(source)
    return Formula(name, expression, source)


def parse_formulas(formulas: Formulas) -> tuple[Formula, ...]:
    """Parses a list of lines or a ``{name: expression}`` mapping; output names must be unique."""
    if isinstance(formulas, str):
        raise TypeError("formulas must be a list of 'name = expression' strings or a {name: expression} dict")
    if isinstance(formulas, Mapping):
        lines = [f"{name} = {expression}" for name, expression in formulas.items()]
    else:
        lines = list(formulas)
    parsed = tuple(parse_formula(line) for line in lines)
    seen: dict[str, str] = {}
    for formula in parsed:
        if formula.name in seen:
            raise OutputNameError(
                f"output '{formula.name}' is defined twice: '{seen[formula.name]}' and '{formula.source}'"
            )
        seen[formula.name] = formula.source
    return parsed


def check_inputs(formulas: Sequence[Formula], columns: Sequence[str]) -> None:
    """Fails on a formula reading a column absent from ``columns`` or writing over one of them."""
    available = list(columns)
    present = set(available)
    outputs = {formula.name for formula in formulas}
    for formula in formulas:
        if formula.name in present:
            raise OutputNameError(
                f"formula '{formula.source}' would overwrite input column '{formula.name}'; "
                "choose a new output name"
            )
        for column in sorted(formula.columns - present):
            if column in outputs:
                raise FormulaError(
                    f"formula '{formula.source}' reads '{column}', the output of another formula; "
                    "formulas read input columns only, so inline that expression instead"
                )
            raise UnknownColumnError(column, formula.source, available)


def is_pandas(value: object, kind: str) -> bool:
    """Whether ``value`` is a pandas ``kind`` ("DataFrame", "Series"), without importing pandas:
    if no one has imported it, nothing can be one (a service never does)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, getattr(pandas, kind))


def as_float(values: npt.ArrayLike, column: str) -> FloatArray:
    """One column as float64; pandas' missing values (``pd.NA`` in nullable columns) become NaN."""
    try:
        if is_pandas(values, "Series"):
            return values.to_numpy(dtype=np.float64, na_value=np.nan)  # type: ignore[union-attr]
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        dtype = getattr(values, "dtype", type(values).__name__)
        raise FormulaError(f"column '{column}' is not numeric (dtype {dtype}): {error}") from error


def row_count(data: pd.DataFrame | Mapping[str, npt.ArrayLike]) -> int:
    """Rows of a DataFrame, or the one length every array of a mapping has."""
    if not isinstance(data, Mapping):
        return len(data.index)
    lengths = {len(np.atleast_1d(np.asarray(values))) for values in data.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0
