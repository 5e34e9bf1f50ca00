from __future__ import annotations

import json
import warnings
from typing import TypedDict

import numpy as np
import pandas as pd
import pytest

from libs.monitoring.drift import compare, feature_drift, ks_test, mean, psi, quantiles


class Thresholds(TypedDict):
    psi_threshold: float
    ks_pvalue_threshold: float


THRESHOLDS: Thresholds = {"psi_threshold": 0.2, "ks_pvalue_threshold": 0.01}


def _frames(shift: float, n: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(
        {
            "stable": rng.normal(0, 1, n),
            "moving": rng.normal(0, 1, n),
            "day_of_week": rng.integers(0, 7, n),
            "output": rng.gamma(2.0, 1.0, n),
        }
    )
    current = pd.DataFrame(
        {
            "stable": rng.normal(0, 1, n),
            "moving": rng.normal(shift, 1, n),
            "day_of_week": rng.integers(0, 7, n),
            "output": rng.gamma(2.0, 1.0, n) + shift,
        }
    )
    return reference, current


def test_psi_is_about_zero_for_the_same_distribution() -> None:
    rng = np.random.default_rng(1)
    assert psi(rng.normal(0, 1, 20_000), rng.normal(0, 1, 20_000)) < 0.01


def test_psi_is_large_for_a_shifted_distribution() -> None:
    rng = np.random.default_rng(2)
    assert psi(rng.normal(0, 1, 5000), rng.normal(1.0, 1, 5000)) > 0.5


def test_psi_counts_values_outside_the_reference_range_and_survives_empty_bins() -> None:
    reference = np.linspace(0, 1, 1000)
    beyond = np.full(500, 10.0)  # every current value in the open top bin; the others are empty
    value = psi(reference, beyond)
    assert np.isfinite(value) and value > 5


def test_psi_handles_a_constant_reference() -> None:
    assert psi(np.ones(100), np.ones(50)) == pytest.approx(0.0)
    assert psi(np.ones(100), np.zeros(50)) > 5


def test_ks_detects_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(0, 1, 2000)
    _, same_p = ks_test(reference, rng.normal(0, 1, 2000))
    statistic, shifted_p = ks_test(reference, rng.normal(0.3, 1, 2000))
    assert same_p > 0.01
    assert shifted_p < 1e-6 and statistic > 0.05


def test_compare_flags_only_the_moving_feature_and_the_predictions() -> None:
    reference, current = _frames(shift=1.0)
    summary = compare(
        reference,
        current,
        features=["stable", "moving", "day_of_week"],
        prediction_column="output",
        **THRESHOLDS,
    )
    assert summary.drifted
    assert summary.drifted_features == ["moving"]
    assert summary.prediction is not None and summary.prediction.drifted
    moving = next(result for result in summary.features if result.feature == "moving")
    assert moving.psi is not None and moving.psi > 0.2 and moving.ks_pvalue is not None
    assert moving.flagged_by == ["psi", "ks"]
    assert moving.current_mean == pytest.approx(1.0, abs=0.1)


def test_no_shift_is_not_drift() -> None:
    reference, current = _frames(shift=0.0)
    summary = compare(
        reference,
        current,
        features=["stable", "moving", "day_of_week"],
        prediction_column="output",
        **THRESHOLDS,
    )
    assert not summary.drifted and summary.drifted_features == []


def test_quality_uses_the_callers_metric_on_labelled_rows_only() -> None:
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0], "output": [1.0, 2.0, 3.0], "label": [1.0, 2.0, 4.0]})
    current = pd.DataFrame({"x": [1.0, 2.0, 3.0], "output": [1.0, 2.0, 3.0], "label": [3.0, None, 5.0]})

    def mae(truth: np.ndarray, predicted: np.ndarray) -> float:
        return float(np.mean(np.abs(truth - predicted)))

    summary = compare(
        reference,
        current,
        features=["x"],
        prediction_column="output",
        label_column="label",
        metric=mae,
        **THRESHOLDS,
    )
    assert summary.quality is not None
    assert summary.quality.metric == "mae"
    assert summary.quality.current == pytest.approx(2.0) and summary.quality.current_count == 2
    assert summary.quality.reference == pytest.approx(1 / 3)


def test_missing_values_are_dropped_and_an_empty_side_has_no_verdict() -> None:
    result = feature_drift("lag_7", [1.0, 2.0, None], [None, None], **THRESHOLDS)
    assert result.psi is None and result.ks_pvalue is None and not result.drifted
    assert (result.reference_count, result.current_count) == (2, 0)


def test_summary_is_plain_json() -> None:
    reference, current = _frames(shift=0.5)
    current.loc[:, "stable"] = np.nan  # an all-missing feature gives None statistics
    summary = compare(
        reference, current, features=["stable", "moving"], prediction_column="output", **THRESHOLDS
    )
    data = json.loads(json.dumps(summary.to_dict(), allow_nan=False))
    assert data["drifted"] is True and data["drifted_features"] == ["moving"]
    assert data["features"][0]["psi"] is None
    assert {"psi_threshold", "ks_pvalue_threshold", "prediction", "quality"} <= data.keys()


def test_bad_inputs_are_refused_with_names() -> None:
    reference, current = _frames(shift=0.0)
    with pytest.raises(KeyError, match="nope"):
        compare(reference, current, features=["nope"], **THRESHOLDS)
    with pytest.raises(TypeError, match="segment"):
        feature_drift("segment", ["a", "b"], ["a"], **THRESHOLDS)
    with pytest.raises(ValueError, match="psi_threshold"):
        compare(reference, current, features=["stable"], psi_threshold=0, ks_pvalue_threshold=0.01)


def test_means_and_quantiles_of_extreme_values_do_not_overflow() -> None:
    extreme = np.array([1.7e308, 1.7e308, -1.7e308, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow RuntimeWarning would fail here
        assert mean(extreme) == pytest.approx(1.7e308 / 4)
        assert quantiles(extreme, (0.5, 0.0, 1.0)) == [pytest.approx(0.85e308), -1.7e308, 1.7e308]
        ordinary = np.array([1.0, 2.0, 3.0, 4.0])
        assert quantiles(ordinary, (0.5, 0.25)) == list(np.quantile(ordinary, [0.5, 0.25]))


def test_values_outside_the_reference_range_are_counted_per_feature_and_per_row() -> None:
    reference = pd.DataFrame({"a": np.linspace(0, 10, 101), "b": np.linspace(0, 1, 101)})
    current = pd.DataFrame({"a": [5.0, -1.0, 11.0, 5.0, np.nan], "b": [0.5, 0.5, 2.0, 0.5, 3.0]})
    summary = compare(reference, current, features=["a", "b"], psi_threshold=0.2, ks_pvalue_threshold=0.0)
    a, b = summary.features
    assert (a.current_below_reference, a.current_above_reference) == (1, 1)
    assert (b.current_below_reference, b.current_above_reference) == (0, 2)
    assert summary.out_of_range_rows == 3  # rows 1, 2 and 4; a missing value is not out of range
    assert a.reference_median == pytest.approx(5.0) and a.current_median == pytest.approx(5.0)
    assert summary.to_dict()["out_of_range_rows"] == 3
