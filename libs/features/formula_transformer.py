"""Formulas as a scikit-learn step, so derived features travel inside the model artifact that serves them.

The fitted state is plain data (the formula lines and the input column names), parsed again on each
``transform``: parsing costs microseconds, and skops then needs no formula classes on its trusted list.
pandas is never imported here: training hands in DataFrames, while a service hands in a mapping of
column name to array and ships without pandas.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from numbers import Real
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from libs.features.formula import Formulas, as_float, check_inputs, is_pandas, parse_formulas, row_count
from libs.features.formula_functions import FloatArray

if TYPE_CHECKING:  # hints only, see the module docstring
    import pandas as pd  # pants: no-infer-dep

Columns = Mapping[str, npt.ArrayLike]


class FormulaTransformer(TransformerMixin, BaseEstimator):
    """Appends one float64 column per ``name = expression`` formula (see ``libs.features.formula``).

    ``fill_value`` is what ``x / 0`` gives; ``keep_inputs=False`` returns the new columns only.
    Fit needs a DataFrame with string column names: formulas address columns by name. Transform
    takes such a DataFrame (and returns one), or a mapping of every fitted column name to a 1-D
    array (and returns a float64 matrix whose columns are ``get_feature_names_out()``).
    """

    formulas_: list[str]
    feature_names_in_: npt.NDArray[np.object_]

    def __init__(self, formulas: Formulas, fill_value: float = 0.0, keep_inputs: bool = True) -> None:
        self.formulas = formulas
        self.fill_value = fill_value
        self.keep_inputs = keep_inputs

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:
        """Parses the formulas and checks them against X's columns, so mistakes surface before training."""
        if not isinstance(self.fill_value, Real) or isinstance(self.fill_value, bool):
            raise TypeError(f"fill_value must be a real number, got {self.fill_value!r}")
        frame = _require_frame(X)
        validate_data(self, frame, reset=True, skip_check_array=True)
        if not hasattr(self, "feature_names_in_"):
            raise TypeError("FormulaTransformer needs string column names: formulas address columns by name")
        formulas = parse_formulas(self.formulas)
        check_inputs(formulas, [str(name) for name in frame.columns])
        self.formulas_ = [formula.source for formula in formulas]
        return self

    def transform(self, X: pd.DataFrame | Columns) -> pd.DataFrame | FloatArray:
        check_is_fitted(self)
        if isinstance(X, Mapping):
            return self._transform_columns(X)
        frame = _require_frame(X)
        validate_data(self, frame, reset=False, skip_check_array=True)
        pandas = sys.modules["pandas"]  # loaded, since X is one of its DataFrames
        derived = pandas.DataFrame(self._derive(frame), index=frame.index)
        if not self.keep_inputs:
            return derived
        return pandas.concat([frame, derived], axis=1)

    def _transform_columns(self, columns: Columns) -> FloatArray:
        """The mapping form of ``transform``: the same values as a DataFrame's, as one float64 matrix."""
        inputs = [str(name) for name in self.feature_names_in_]
        _check_column_names(inputs, [str(name) for name in columns])
        n_rows = row_count(columns)
        derived = self._derive(columns)
        kept = [as_float(columns[name], name) for name in inputs] if self.keep_inputs else []
        values = [*kept, *derived.values()]
        # Column-major, as a DataFrame's values are: later steps then sum in the same order, bit for bit.
        matrix = np.empty((n_rows, len(values)), dtype=np.float64, order="F")
        for index, column in enumerate(values):
            matrix[:, index] = column
        return matrix

    def _derive(self, data: pd.DataFrame | Columns) -> dict[str, FloatArray]:
        fill_value = float(self.fill_value)
        return {
            formula.name: formula.evaluate(data, fill_value=fill_value)
            for formula in parse_formulas(self.formulas_)
        }

    def get_feature_names_out(self, input_features: npt.ArrayLike | None = None) -> npt.NDArray[np.object_]:
        check_is_fitted(self)
        inputs = [str(name) for name in self.feature_names_in_]
        if input_features is not None:
            given = [str(name) for name in np.asarray(input_features)]
            if given != inputs:
                raise ValueError(f"input_features {given} differ from those seen in fit: {inputs}")
        outputs = [formula.name for formula in parse_formulas(self.formulas_)]
        return np.asarray([*inputs, *outputs] if self.keep_inputs else outputs, dtype=object)


def _require_frame(X: Any) -> pd.DataFrame:
    if not is_pandas(X, "DataFrame"):
        raise TypeError(
            f"FormulaTransformer needs a pandas DataFrame, got {type(X).__name__}; "
            "call set_output(transform='pandas') on the steps before it"
        )
    return X


def _check_column_names(fitted: list[str], given: list[str]) -> None:
    """A mapping's columns are found by name, so their order is free, but the set must match fit's."""
    missing = [name for name in fitted if name not in given]
    unexpected = [name for name in given if name not in fitted]
    if missing or unexpected:
        raise ValueError(
            f"feature names differ from those seen in fit: missing {missing}, unexpected {unexpected}"
        )
