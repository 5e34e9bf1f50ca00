"""Reusable scikit-learn transformers; derived features are declared as formulas in params, not coded."""

from libs.features.formula import Formula, Formulas, check_inputs, parse_formula, parse_formulas
from libs.features.formula_errors import (
    FormulaError,
    FormulaSyntaxError,
    OutputNameError,
    UnknownColumnError,
    UnknownFunctionError,
)
from libs.features.formula_functions import FUNCTIONS
from libs.features.formula_transformer import FormulaTransformer

__all__ = [
    "FUNCTIONS",
    "Formula",
    "FormulaError",
    "FormulaSyntaxError",
    "FormulaTransformer",
    "Formulas",
    "OutputNameError",
    "UnknownColumnError",
    "UnknownFunctionError",
    "check_inputs",
    "parse_formula",
    "parse_formulas",
]
