"""Formulas as a scikit-learn step, so derived features travel inside the model artifact that serves them.

The fitted state is plain data (the formula lines and the input column names), parsed again on each
``transform``: parsing costs microseconds, and skops then needs no formula classes on its trusted list.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from libs.features.formula import Formulas, check_inputs, parse_formulas


class FormulaTransformer(TransformerMixin, BaseEstimator):
    """Appends one float64 column per ``name = expression`` formula (see ``libs.features.formula``).

    ``fill_value`` is what ``x / 0`` gives; ``keep_inputs=False`` returns the new columns only.
    Input must be a DataFrame with string column names: formulas address columns by name.
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

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        frame = _require_frame(X)
        validate_data(self, frame, reset=False, skip_check_array=True)
        fill_value = float(self.fill_value)
        columns = {
            formula.name: formula.evaluate(frame, fill_value=fill_value)
            for formula in parse_formulas(self.formulas_)
        }
        derived = pd.DataFrame(columns, index=frame.index)
        if not self.keep_inputs:
            return derived
        return pd.concat([frame, derived], axis=1)

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
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"FormulaTransformer needs a pandas DataFrame, got {type(X).__name__}; "
            "call set_output(transform='pandas') on the steps before it"
        )
    return X
