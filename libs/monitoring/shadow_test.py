"""The monitor's shadow comparison, on a shadow log written by the services' own logger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from libs.monitoring.shadow import ShadowThresholds, add_to_report, compare_shadow, logged_pairs
from libs.predictionlog.logger import PredictionLogger

DECISIONS = ShadowThresholds(decision_threshold=0.5, min_agreement=0.9, min_rows=4)


def _pairs(champion: list[float], shadow: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"champion": champion, "shadow": shadow, "shadow_version": "7"})


def test_agreement_is_the_share_of_equal_decisions() -> None:
    champion = [0.1, 0.2, 0.7, 0.9, 0.6, 0.4, 0.3, 0.8, 0.55, 0.05]
    shadow = [0.2, 0.1, 0.8, 0.95, 0.4, 0.45, 0.35, 0.9, 0.6, 0.1]  # one decision differs (0.6 -> 0.4)
    section = compare_shadow(_pairs(champion, shadow), DECISIONS)
    assert section["agreement"]["share_equal_decisions"] == pytest.approx(0.9)
    assert (section["verdict"], section["passed"], section["shadow_versions"]) == ("agrees", True, ["7"])
    stricter = ShadowThresholds(decision_threshold=0.5, min_agreement=0.95, min_rows=4)
    assert compare_shadow(_pairs(champion, shadow), stricter)["verdict"] == "disagrees"


def test_the_forecaster_gets_the_distribution_of_differences_and_labelled_quality() -> None:
    champion = np.arange(10, dtype=float)
    shadow = champion + np.array([0.5, -0.5, 1.5, 0.0, 0.5, 0.5, -1.0, 0.0, 0.5, 2.0])
    thresholds = ShadowThresholds(max_mean_abs_difference=0.6, min_rows=4)
    section = compare_shadow(
        _pairs(list(champion), list(shadow)),
        thresholds,
        labels=pd.Series(champion),
        metric=lambda truth, predicted: float(np.mean(np.abs(truth - predicted))),
        metric_name="mae",
    )
    assert section["difference"]["mean"] == pytest.approx(0.4)
    assert section["difference"]["mean_abs"] == pytest.approx(0.7)
    assert section["difference"]["quantiles"]["p50"] == pytest.approx(0.5)
    assert section["quality"] == {"metric": "mae", "champion": 0.0, "shadow": pytest.approx(0.7)}
    assert section["verdict"] == "disagrees"


def test_no_shadow_and_too_few_rows_are_no_verdict() -> None:
    assert compare_shadow(_pairs([], []), DECISIONS)["verdict"] == "no shadow"
    few = compare_shadow(_pairs([0.1, 0.9], [0.1, 0.9]), DECISIONS)
    assert (few["verdict"], few["passed"]) == ("too few rows", None)


def test_pairs_come_from_the_shadow_log_the_services_write(tmp_path: Path) -> None:
    assert logged_pairs(tmp_path, "agent3").empty
    rows = [
        {"age": 30.0, "champion_output": 0.8, "champion_version": "3"},
        {"age": 41.0, "champion_output": 0.2, "champion_version": "3"},
    ]
    with PredictionLogger("agent3-shadow", tmp_path) as logger:
        logger.log_batch(rows, [0.7, 0.6], model_name="churn", model_version="4", latency_ms=1.0)
    pairs = logged_pairs(tmp_path, "agent3")
    assert list(pairs["champion"]) == [0.8, 0.2] and list(pairs["shadow"]) == [0.7, 0.6]
    labels = pd.Series([1, 0])
    section = compare_shadow(
        pairs, ShadowThresholds(decision_threshold=0.5, min_rows=1), labels=labels, metric=roc_auc_score
    )
    assert section["agreement"]["share_equal_decisions"] == 0.5  # 0.2 -> 0.6 crosses the threshold
    assert section["quality"]["champion"] == 1.0 and section["quality"]["shadow"] == 1.0


def test_the_report_gains_a_readable_shadow_section() -> None:
    section = compare_shadow(_pairs([0.1, 0.9, 0.8, 0.2], [0.1, 0.9, 0.3, 0.2]), DECISIONS)
    page = add_to_report("<html><body><h1>agent3</h1></body></html>", section)
    assert page.index('<section id="shadow">') < page.index("</body>")
    assert (
        "equal decisions: 75.0%" in page and "<strong>disagrees</strong> on 4 rows" in page and "v7" in page
    )
