from __future__ import annotations

from typing import Any

import pytest

from libs.pipeline.registration import comparable_champion, metrics_baseline
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


def test_a_champion_on_fewer_columns_is_scored_on_them_and_one_on_missing_columns_is_refused() -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    champion = LinearRegression().fit(pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]}), [0, 1, 2])
    assert comparable_champion(champion, ["a", "b"], "shop-model", "3") is champion
    plain = object()  # no recorded columns: nothing to compare
    assert comparable_champion(plain, ["c"], "shop-model", "3") is plain

    rows = pd.DataFrame({"a": [0.0, 2.0], "new": [5.0, 6.0], "b": [1.0, 1.0]})
    widened = comparable_champion(champion, list(rows.columns), "shop-model", "3")
    assert list(widened.predict(rows)) == list(champion.predict(rows[["a", "b"]]))  # type: ignore[attr-defined]

    with pytest.raises(RuntimeError, match=r"champion v3 needs columns the challenger's rows lack \('b'\)"):
        comparable_champion(champion, ["a", "c"], "shop-model", "3")
