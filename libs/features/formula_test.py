from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from libs.features import (
    FormulaError,
    FormulaSyntaxError,
    OutputNameError,
    UnknownColumnError,
    UnknownFunctionError,
    check_inputs,
    parse_formula,
    parse_formulas,
)
from libs.features.formula_ast import Binary, Call, Column, Negate, Number
from libs.features.formula_parser import MAX_DEPTH, parse_expression


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("a - b - c", "((a - b) - c)"),
        ("a / b / c", "((a / b) / c)"),
        ("a - b + c", "((a - b) + c)"),
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c / d", "((a * b) + (c / d))"),
        ("(a + b) * c", "((a + b) * c)"),
        ("-a * b", "((-a) * b)"),
        ("-a - -b", "((-a) - (-b))"),
        ("a * -b", "(a * (-b))"),
        ("- - a", "(-(-a))"),
        ("-(a + b)", "(-(a + b))"),
        ("clip(a / b, 0, 1e3)", "clip((a / b), 0.0, 1000.0)"),
        ("max(min(a, 1), .5) + abs(b)", "(max(min(a, 1.0), 0.5) + abs(b))"),
        ("log1p(sqrt(x_1))", "log1p(sqrt(x_1))"),
        ("2.5E-1*_private", "(0.25 * _private)"),
    ],
)
def test_precedence_and_associativity(source: str, tree: str) -> None:
    assert str(parse_expression(source)) == tree


def test_tree_is_made_of_plain_nodes() -> None:
    assert parse_expression("-clip(a, 0, b / 2)") == Negate(
        Call("clip", (Column("a"), Number(0.0), Binary("/", Column("b"), Number(2.0))))
    )


def test_parse_formula_splits_name_and_expression() -> None:
    formula = parse_formula("  revenue_per_visit = revenue / visits ")
    assert formula.name == "revenue_per_visit"
    assert formula.source == "revenue_per_visit = revenue / visits"
    assert formula.expression == Binary("/", Column("revenue"), Column("visits"))
    assert formula.columns == {"revenue", "visits"}


def test_list_and_mapping_forms_are_equivalent() -> None:
    as_list = parse_formulas(["r = a / b", "s = log1p(a)"])
    as_dict = parse_formulas({"r": "a / b", "s": "log1p(a)"})
    assert as_list == as_dict


def _syntax_error(source: str) -> FormulaSyntaxError:
    with pytest.raises(FormulaSyntaxError) as caught:
        parse_formula(source)
    return caught.value


@pytest.mark.parametrize(
    ("source", "reason", "position"),
    [
        ("x = __import__('os').system('x')", 'unexpected character "\'"', 15),
        ("x = a.b", "unexpected character '.'", 5),
        ("x = a[0]", "unexpected character '['", 5),
        ("x = a ** b", "expected a column, a number, a function call or '(', found '*'", 7),
        ("x = a +", "expected a column, a number, a function call or '(', found end of formula", 7),
        ("x = (a + b", "expected ')', found end of formula", 10),
        ("x = a b", "expected an operator or the end of the formula, found 'b'", 6),
        ("x = a == b", "expected an operator or the end of the formula, found '='", 6),
        ("x = 1.2.3", "expected an operator or the end of the formula, found '.3'", 7),
        ("x = +a", "expected a column, a number, a function call or '(', found '+'", 4),
        ("x = clip(a, 0,)", "expected a column, a number, a function call or '(', found ')'", 14),
        ("x = lambda: 1", "unexpected character ':'", 10),
        ("x = 'text'", 'unexpected character "\'"', 4),
        ("a / b", "expected '=' after the output name, found '/'", 2),
        ("= a", "expected an output name, found '='", 0),
        ("", "expected an output name, found end of formula", 0),
        ("x = ", "expected a column, a number, a function call or '(', found end of formula", 3),
        ("x = clip(a, 1)", "clip(x, lo, hi) takes 3 argument(s), got 2", 4),
        ("x = log1p(a, b)", "log1p(x) takes 1 argument(s), got 2", 4),
    ],
)
def test_syntax_errors_point_at_the_offending_position(source: str, reason: str, position: int) -> None:
    error = _syntax_error(source)
    assert error.reason == reason
    assert error.position == position
    assert str(error) == f"{reason} at position {position}\n    {source.strip()}\n    {' ' * position}^"


def test_unknown_function_lists_the_allowed_ones() -> None:
    with pytest.raises(UnknownFunctionError) as caught:
        parse_formula("x = exp(a)")
    assert caught.value.name == "exp"
    assert caught.value.position == 4
    assert str(caught.value).startswith(
        "unknown function 'exp' (allowed: abs, clip, log1p, max, min, sqrt) at position 4"
    )


def test_method_call_on_a_function_result_is_rejected() -> None:
    with pytest.raises(UnknownFunctionError, match="unknown function '__import__'"):
        parse_formula("x = __import__(os)")
    assert _syntax_error("x = abs(a).real").reason == "unexpected character '.'"


def test_deep_nesting_is_a_syntax_error_not_a_recursion_error() -> None:
    depth = MAX_DEPTH + 5
    error = _syntax_error("x = " + "(" * depth + "a" + ")" * depth)
    assert error.reason == f"formula nests deeper than {MAX_DEPTH} levels"
    assert _syntax_error("x = " + "-" * depth + "a").reason == error.reason
    assert str(parse_expression("(" * 10 + "a" + ")" * 10)) == "a"


def test_duplicate_output_names_are_rejected() -> None:
    with pytest.raises(OutputNameError) as caught:
        parse_formulas(["r = a / b", "s = a", "r = b / a"])
    assert str(caught.value) == "output 'r' is defined twice: 'r = a / b' and 'r = b / a'"


def test_a_plain_string_is_not_a_list_of_formulas() -> None:
    with pytest.raises(TypeError, match="list of 'name = expression' strings"):
        parse_formulas("r = a / b")


def test_unknown_column_names_it_and_lists_the_available_ones() -> None:
    formulas = parse_formulas(["rpv = revenue / vists"])
    with pytest.raises(UnknownColumnError) as caught:
        check_inputs(formulas, ["revenue", "visits", "store"])
    assert caught.value.column == "vists"
    assert str(caught.value) == (
        "formula 'rpv = revenue / vists' reads unknown column 'vists' (did you mean 'visits'?); "
        "available columns: revenue, visits, store"
    )


def test_long_column_lists_are_truncated() -> None:
    columns = [f"c{index}" for index in range(40)]
    with pytest.raises(UnknownColumnError, match=r"available columns: c0, c1, .*, c29, \.\.\. \(10 more\)$"):
        check_inputs(parse_formulas(["x = zzz"]), columns)


def test_output_may_not_overwrite_an_input_column() -> None:
    with pytest.raises(OutputNameError) as caught:
        check_inputs(parse_formulas(["revenue = revenue * 2"]), ["revenue"])
    assert str(caught.value) == (
        "formula 'revenue = revenue * 2' would overwrite input column 'revenue'; choose a new output name"
    )


def test_formulas_read_inputs_not_other_outputs() -> None:
    with pytest.raises(FormulaError, match="reads 'rpv', the output of another formula"):
        formulas = parse_formulas(["rpv = revenue / visits", "log_rpv = log1p(rpv)"])
        check_inputs(formulas, ["revenue", "visits"])


def test_formula_errors_survive_pickling() -> None:
    errors: list[FormulaError] = [
        FormulaSyntaxError("bad", "x = ?", 4),
        UnknownFunctionError("exp", "x = exp(a)", 4, ["abs"]),
        UnknownColumnError("b", "x = b", ["a"]),
        OutputNameError("twice"),
    ]
    for error in errors:
        restored = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        assert type(restored) is type(error)
        assert str(restored) == str(error)


def test_division_by_zero_gives_fill_value_and_missing_stays_missing() -> None:
    frame = pd.DataFrame({"a": [6.0, 0.0, -3.0, np.nan, 1.0], "b": [3.0, 0.0, 0.0, 0.0, np.nan]})
    formula = parse_formula("r = a / b")
    np.testing.assert_array_equal(formula.evaluate(frame), [2.0, 0.0, 0.0, np.nan, np.nan])
    np.testing.assert_array_equal(formula.evaluate(frame, fill_value=-1.0), [2.0, -1.0, -1.0, np.nan, np.nan])
    np.testing.assert_array_equal(parse_formula("r = a / 0").evaluate(frame, fill_value=7.0)[:3], [7.0] * 3)
    assert not np.isinf(formula.evaluate(frame)).any()


def test_nan_propagates_through_operators_and_functions() -> None:
    frame = pd.DataFrame({"a": [np.nan, 1.0], "b": [2.0, 2.0]})
    for expression in ["a + b", "a * b", "-a", "log1p(a)", "sqrt(a)", "abs(a)", "clip(a, 0, b)", "min(a, b)"]:
        values = parse_formula(f"x = {expression}").evaluate(frame)
        assert np.isnan(values[0]), expression
        assert not np.isnan(values[1]), expression


def test_functions_compute_and_stay_in_domain() -> None:
    frame = pd.DataFrame({"x": [-2.0, -1.0, 0.0, 3.0], "lo": [0.0, 0.0, 0.0, 0.0]})

    def values(expression: str) -> list[float]:
        return list(parse_formula(f"y = {expression}").evaluate(frame))

    np.testing.assert_array_equal(values("log1p(x)"), [np.nan, np.nan, 0.0, np.log(4.0)])
    np.testing.assert_array_equal(values("sqrt(x)"), [np.nan, np.nan, 0.0, np.sqrt(3.0)])
    assert values("abs(x)") == [2.0, 1.0, 0.0, 3.0]
    assert values("clip(x, lo, 1)") == [0.0, 0.0, 0.0, 1.0]
    assert values("min(x, -1)") == [-2.0, -1.0, -1.0, -1.0]
    assert values("max(x, lo)") == [0.0, 0.0, 0.0, 3.0]
    assert values("2 * x - x / 2 + 1") == [-2.0, -0.5, 1.0, 5.5]


def test_constant_formula_fills_every_row_and_result_never_aliases_input() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    assert list(parse_formula("one = 1").evaluate(frame)) == [1.0, 1.0, 1.0]
    copied = parse_formula("b = a").evaluate(frame)
    copied[0] = 99.0
    assert frame["a"].tolist() == [1.0, 2.0, 3.0]


def test_evaluates_over_numpy_arrays_and_nullable_columns() -> None:
    formula = parse_formula("r = a / b")
    np.testing.assert_array_equal(formula.evaluate({"a": np.array([1, 4]), "b": [2, 0]}), [0.5, 0.0])
    nullable = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1.0, 1.0]})
    np.testing.assert_array_equal(formula.evaluate(nullable), [1.0, np.nan])
    with pytest.raises(ValueError, match="different lengths"):
        formula.evaluate({"a": [1, 2], "b": [1]})


def test_evaluating_a_missing_or_text_column_is_a_clear_error() -> None:
    formula = parse_formula("r = a / b")
    with pytest.raises(UnknownColumnError, match="unknown column 'b'"):
        formula.evaluate(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(FormulaError, match="column 'b' is not numeric"):
        formula.evaluate(pd.DataFrame({"a": [1.0], "b": ["x"]}))


def test_parsed_formulas_pickle_as_values() -> None:
    formulas = parse_formulas(["r = clip(-a / b, 0, 1)"])
    assert pickle.loads(pickle.dumps(formulas)) == formulas  # noqa: S301 - our own bytes
