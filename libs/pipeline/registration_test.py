from __future__ import annotations

from typing import Any

import pytest

from libs.pipeline.registration import check_comparable, metrics_baseline
from libs.tracking import Baseline


def test_the_baseline_is_the_evaluate_stages_score_for_the_gated_metric() -> None:
    metrics = {"model": {"mae": 3.2}, "baseline": {"name": "seasonal naive (lag 7 days)", "mae": 4.8}}
    assert metrics_baseline(metrics, "mae") == Baseline(name="seasonal naive (lag 7 days)", score=4.8)


@pytest.mark.parametrize(
    "metrics",
    [
        {"model": {"mae": 3.2}},
        {"baseline": {"name": "naive", "rmse": 4.8}},
        {"baseline": {"name": "naive", "mae": None}},
        {"baseline": {"name": "naive", "mae": "4.8"}},
        {"baseline": {"name": "naive", "mae": True}},
        {"baseline": 4.8},
    ],
)
def test_a_missing_or_unusable_baseline_fails_the_register_stage(metrics: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"metrics.json has no number at baseline\.mae"):
        metrics_baseline(metrics, "mae")


def test_a_champion_trained_on_other_columns_is_refused_by_name() -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    champion = LinearRegression().fit(pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]}), [0, 1, 2])
    check_comparable(champion, ["a", "b"], "shop-model", "3")
    check_comparable(object(), ["c"], "shop-model", "3")  # no recorded columns: nothing to compare
    with pytest.raises(
        RuntimeError, match=r"champion v3 was trained on other columns \('a', 'b'\) than this"
    ):
        check_comparable(champion, ["c", "d"], "shop-model", "3")
