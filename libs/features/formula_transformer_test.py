from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from libs.features import FormulaSyntaxError, FormulaTransformer, OutputNameError, UnknownColumnError

FORMULAS = ["revenue_per_visit = revenue / visits", "log_revenue = log1p(revenue)"]
SKOPS_TRUSTED = ["libs.features.formula_transformer.FormulaTransformer"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"revenue": [10.0, 0.0, np.nan, 6.0], "visits": [2, 0, 4, 3], "store": ["a", "b", "c", "d"]},
        index=[10, 11, 12, 13],
    )


def test_transform_appends_new_columns_and_keeps_index(frame: pd.DataFrame) -> None:
    out = FormulaTransformer(FORMULAS).fit_transform(frame)
    assert list(out.columns) == ["revenue", "visits", "store", "revenue_per_visit", "log_revenue"]
    assert list(out.index) == [10, 11, 12, 13]
    np.testing.assert_array_equal(out["revenue_per_visit"], [5.0, 0.0, np.nan, 2.0])
    np.testing.assert_allclose(out["log_revenue"], [np.log(11.0), 0.0, np.nan, np.log(7.0)])
    pd.testing.assert_frame_equal(out[["revenue", "visits", "store"]], frame)
    assert list(frame.columns) == ["revenue", "visits", "store"], "input must not be modified"


def test_keep_inputs_false_and_fill_value(frame: pd.DataFrame) -> None:
    transformer = FormulaTransformer({"rpv": "revenue / visits"}, fill_value=-1.0, keep_inputs=False)
    out = transformer.fit_transform(frame)
    assert list(out.columns) == ["rpv"]
    np.testing.assert_array_equal(out["rpv"], [5.0, -1.0, np.nan, 2.0])


def test_get_feature_names_out(frame: pd.DataFrame) -> None:
    transformer = FormulaTransformer(FORMULAS).fit(frame)
    expected = ["revenue", "visits", "store", "revenue_per_visit", "log_revenue"]
    assert list(transformer.get_feature_names_out()) == expected
    assert list(transformer.get_feature_names_out(["revenue", "visits", "store"])) == expected
    assert list(transformer.set_params(keep_inputs=False).get_feature_names_out()) == expected[3:]
    with pytest.raises(ValueError, match="differ from those seen in fit"):
        transformer.get_feature_names_out(["a", "b", "c"])


def test_unfitted_use_raises_not_fitted(frame: pd.DataFrame) -> None:
    transformer = FormulaTransformer(FORMULAS)
    with pytest.raises(NotFittedError):
        transformer.transform(frame)
    with pytest.raises(NotFittedError):
        transformer.get_feature_names_out()


def test_fit_validates_formulas_against_columns(frame: pd.DataFrame) -> None:
    with pytest.raises(UnknownColumnError, match="unknown column 'vists' \\(did you mean 'visits'\\?\\)"):
        FormulaTransformer(["r = revenue / vists"]).fit(frame)
    with pytest.raises(OutputNameError, match="would overwrite input column 'visits'"):
        FormulaTransformer(["visits = visits + 1"]).fit(frame)
    with pytest.raises(FormulaSyntaxError, match="unexpected character '\\.'"):
        FormulaTransformer(["r = revenue.sum()"]).fit(frame)
    with pytest.raises(TypeError, match="fill_value must be a real number"):
        FormulaTransformer(FORMULAS, fill_value="zero").fit(frame)  # type: ignore[arg-type]


def test_input_must_be_a_frame_with_the_fitted_columns(frame: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="needs a pandas DataFrame, got ndarray"):
        FormulaTransformer(FORMULAS).fit(frame.to_numpy())
    transformer = FormulaTransformer(FORMULAS).fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        transformer.transform(frame.rename(columns={"store": "shop"}))


def test_clone_gives_an_unfitted_copy_with_equal_params(frame: pd.DataFrame) -> None:
    fitted = FormulaTransformer(FORMULAS, fill_value=1.5, keep_inputs=False).fit(frame)
    copy = clone(fitted)
    assert copy.get_params() == {"formulas": FORMULAS, "fill_value": 1.5, "keep_inputs": False}
    assert copy.formulas is not fitted.formulas
    with pytest.raises(NotFittedError):
        copy.transform(frame)


def test_pipeline_with_logistic_regression_learns_from_a_derived_ratio() -> None:
    # The label depends only on the ratio, which neither raw column reveals on its own.
    rng = np.random.default_rng(0)
    visits = rng.integers(1, 50, size=200).astype(float)
    ratio = rng.uniform(0.0, 4.0, size=200)
    data = pd.DataFrame({"revenue": visits * ratio, "visits": visits})
    labels = (ratio > 2.0).astype(int)
    pipeline = make_pipeline(
        FormulaTransformer(["rpv = revenue / visits"], keep_inputs=False),
        LogisticRegression(C=100.0),
    )
    pipeline.fit(data, labels)
    assert (pipeline.predict(data) == labels).mean() > 0.97
    assert list(pipeline[:-1].get_feature_names_out()) == ["rpv"]


def test_set_output_and_column_transformer(frame: pd.DataFrame) -> None:
    column_transformer = ColumnTransformer(
        [("derived", FormulaTransformer(FORMULAS, keep_inputs=False), ["revenue", "visits"])],
        remainder="drop",
    ).set_output(transform="pandas")
    out = Pipeline([("features", column_transformer), ("scale", StandardScaler())]).set_output(
        transform="pandas"
    )
    result = out.fit_transform(frame.fillna({"revenue": 0.0}))
    assert list(result.columns) == ["derived__revenue_per_visit", "derived__log_revenue"]
    assert list(result.index) == [10, 11, 12, 13]
    assert FormulaTransformer(FORMULAS).set_output(transform="pandas").fit_transform(frame).shape == (4, 5)


def test_pickle_round_trip_gives_identical_output(frame: pd.DataFrame) -> None:
    fitted = FormulaTransformer(FORMULAS, fill_value=-2.0).fit(frame)
    restored = pickle.loads(pickle.dumps(fitted))  # noqa: S301 - our own bytes
    pd.testing.assert_frame_equal(restored.transform(frame), fitted.transform(frame))


def test_skops_round_trip_needs_only_the_transformer_trusted(frame: pd.DataFrame) -> None:
    fitted = FormulaTransformer({"rpv": "revenue / visits"}, fill_value=-2.0).fit(frame)
    payload = skops.io.dumps(fitted)
    assert skops.io.get_untrusted_types(data=payload) == SKOPS_TRUSTED
    restored = skops.io.loads(payload, trusted=SKOPS_TRUSTED)
    pd.testing.assert_frame_equal(restored.transform(frame), fitted.transform(frame))
    assert restored.get_params() == fitted.get_params()


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {str(name): frame[name].to_numpy(dtype=np.float64) for name in frame.columns}


@pytest.mark.parametrize("keep_inputs", [True, False])
def test_named_arrays_give_the_frames_values_as_a_column_major_matrix(keep_inputs: bool) -> None:
    # A service passes named numpy columns (no pandas); training passes the DataFrame.
    frame = pd.DataFrame({"revenue": [10.0, 0.0, np.nan, 6.0], "visits": [2.0, 0.0, 4.0, 3.0]})
    transformer = FormulaTransformer(FORMULAS, fill_value=-1.0, keep_inputs=keep_inputs).fit(frame)
    reversed_keys = dict(reversed(_columns(frame).items()))  # found by name, so key order is free
    matrix = transformer.transform(reversed_keys)
    assert isinstance(matrix, np.ndarray) and matrix.dtype == np.float64
    assert matrix.flags["F_CONTIGUOUS"]  # as a frame's values are: later steps sum in the same order
    np.testing.assert_array_equal(matrix, np.asarray(transformer.transform(frame), dtype=np.float64))


def test_a_pipeline_answers_named_arrays_exactly_as_it_answers_the_frame() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"revenue": rng.gamma(2.0, 50.0, 300), "visits": rng.integers(0, 9, 300).astype(float)}
    )
    labels = frame["revenue"] / (frame["visits"] + 1) > 30
    pipeline = make_pipeline(FormulaTransformer(FORMULAS), StandardScaler(), LogisticRegression())
    pipeline.fit(frame, labels)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but StandardScaler"):
        from_arrays = pipeline.predict_proba(_columns(frame))
    np.testing.assert_array_equal(from_arrays, pipeline.predict_proba(frame))


def test_named_arrays_must_name_exactly_the_fitted_columns(frame: pd.DataFrame) -> None:
    transformer = FormulaTransformer(FORMULAS).fit(frame[["revenue", "visits"]])
    with pytest.raises(ValueError, match=r"missing \['visits'\], unexpected \['visitz'\]"):
        transformer.transform({"revenue": [1.0], "visitz": [1.0]})
    with pytest.raises(ValueError, match="different lengths"):
        transformer.transform({"revenue": [1.0, 2.0], "visits": [1.0]})


def test_named_arrays_need_no_pandas(tmp_path: Path) -> None:
    # A fitted transformer, unpickled and used where pandas cannot be imported, as in a service image.
    fitted = FormulaTransformer(FORMULAS).fit(pd.DataFrame({"revenue": [1.0], "visits": [1.0]}))
    (tmp_path / "fitted.pickle").write_bytes(pickle.dumps(fitted))
    script = (
        "import json, pickle, sys\n"
        "sys.modules['pandas'] = None  # any import of pandas now fails\n"
        "from libs.features import FormulaTransformer\n"
        f"fitted = pickle.loads(open({str(tmp_path / 'fitted.pickle')!r}, 'rb').read())\n"
        "matrix = fitted.transform({'revenue': [10.0, 3.0], 'visits': [2.0, 0.0]})\n"
        "print(json.dumps(matrix.tolist()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, env=_with_cwd_on_path()
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(
        json.loads(result.stdout), [[10.0, 2.0, 5.0, np.log(11.0)], [3.0, 0.0, 0.0, np.log(4.0)]]
    )


def _with_cwd_on_path() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}
