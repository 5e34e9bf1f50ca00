import numpy as np
import pytest

from libs.pipeline.metrics import histogram_by_label, precision_at_k


def test_precision_at_k_counts_true_positives_among_top_scores() -> None:
    labels = np.array([True, False, True, False, False])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.2])
    assert precision_at_k(labels, scores, k=1) == 1.0
    assert precision_at_k(labels, scores, k=2) == 0.5
    assert precision_at_k(labels, scores, k=3) == pytest.approx(2 / 3)


def test_precision_at_k_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="k must be positive"):
        precision_at_k(np.array([True]), np.array([0.1]), k=0)
    with pytest.raises(ValueError, match="differ in length"):
        precision_at_k(np.array([True, False]), np.array([0.1]), k=1)


def test_histogram_splits_counts_by_label_and_covers_every_score() -> None:
    scores = np.array([0.05, 0.5, 0.55, 0.99, 1.0])
    labels = np.array([False, False, True, True, True])
    table = histogram_by_label(scores, labels, bins=10, positive="anomaly", negative="normal")
    assert list(table.columns) == ["score_bin", "normal", "anomaly"]
    assert table["normal"].sum() == 2
    assert table["anomaly"].sum() == 3
    assert table.loc[table["score_bin"] == 1.0, "anomaly"].item() == 2
