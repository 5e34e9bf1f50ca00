"""Vectorised evaluation of a formula tree: one numpy operation per node, whole columns at a time.

Division is the one operation with a policy: ``x / 0`` (including ``0 / 0``) is ``fill_value`` instead of
inf or NaN, because a ratio over an empty denominator (revenue per visit with no visits) is a modelling
choice, not missing data. A missing numerator stays missing: ``NaN / 0`` is NaN. Everything else follows
IEEE arithmetic, and NaN inputs propagate to NaN outputs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from libs.features.formula_ast import Binary, Call, Column, Negate, Node, Number
from libs.features.formula_functions import FUNCTIONS, FloatArray


def evaluate(node: Node, columns: Mapping[str, FloatArray], *, n_rows: int, fill_value: float) -> FloatArray:
    """A fresh float64 array of ``n_rows`` values; never a view of an input column."""
    with np.errstate(all="ignore"):
        result = _evaluate(node, columns, fill_value)
    return np.array(np.broadcast_to(result, (n_rows,)), dtype=np.float64, copy=True)


def divide(numerator: FloatArray, denominator: FloatArray, fill_value: float) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.divide(numerator, denominator)
    by_zero = (denominator == 0.0) & ~np.isnan(numerator)
    return np.where(by_zero, fill_value, quotient)


def _evaluate(node: Node, columns: Mapping[str, FloatArray], fill_value: float) -> FloatArray:
    # Literals stay 0-d arrays and broadcast, so `x * 2` never allocates a column of twos.
    match node:
        case Number(value):
            return np.asarray(value, dtype=np.float64)
        case Column(name):
            return columns[name]
        case Negate(operand):
            return np.negative(_evaluate(operand, columns, fill_value))
        case Binary(operator, left, right):
            a = _evaluate(left, columns, fill_value)
            b = _evaluate(right, columns, fill_value)
            if operator == "+":
                return np.add(a, b)
            if operator == "-":
                return np.subtract(a, b)
            if operator == "*":
                return np.multiply(a, b)
            if operator == "/":
                return divide(a, b, fill_value)
            raise ValueError(f"unknown operator {operator!r}")
        case Call(function, arguments):
            values = [_evaluate(argument, columns, fill_value) for argument in arguments]
            return FUNCTIONS[function].apply(*values)
    raise TypeError(f"not a formula node: {node!r}")
