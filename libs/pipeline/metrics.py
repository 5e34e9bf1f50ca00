"""Metrics and plot tables the agents share; plain numpy so evaluation never depends on a model type."""

from __future__ import annotations

import numpy as np
import pandas as pd


def precision_at_k(labels: np.ndarray, scores: np.ndarray, *, k: int) -> float:
    """Share of true positives among the k highest scores; ties broken by position for determinism."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if len(labels) != len(scores):
        raise ValueError(f"labels ({len(labels)}) and scores ({len(scores)}) differ in length")
    if len(labels) == 0:
        return 0.0
    top = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]
    return float(np.asarray(labels, dtype=bool)[top].mean())


def histogram_by_label(
    scores: np.ndarray, labels: np.ndarray, *, bins: int, positive: str, negative: str
) -> pd.DataFrame:
    """Counts per score bin for each class: the table `dvc plots` draws as the score distribution."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    labels = np.asarray(labels, dtype=bool)
    positive_counts, _ = np.histogram(scores[labels], bins=edges)
    negative_counts, _ = np.histogram(scores[~labels], bins=edges)
    return pd.DataFrame(
        {"score_bin": np.round(edges[1:], 4), negative: negative_counts, positive: positive_counts}
    )
