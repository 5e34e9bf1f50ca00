"""Vectorised weighted sampling: millions of draws with one ``searchsorted`` instead of a Python loop."""

from __future__ import annotations

import numpy as np


def sample_weighted(weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` indices into ``weights``, each drawn with probability proportional to its weight."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    if len(cumulative) == 0 or not cumulative[-1] > 0:
        raise ValueError("weights must be non-empty with a positive sum")
    targets = rng.random(size) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, targets, side="right"), len(cumulative) - 1)


def sample_within_groups(weights: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each entry of ``groups``, a column of ``weights`` (groups x columns) drawn from that group's row.

    Every row is laid end to end in one cumulative sum, so one binary search serves all groups at once.
    """
    n_columns = weights.shape[1]
    if n_columns == 0 or not (weights.sum(axis=1) > 0).all():
        raise ValueError("every group needs a positive total weight")
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64).ravel())
    ends = cumulative[n_columns - 1 :: n_columns]
    starts = np.concatenate(([0.0], ends[:-1]))
    targets = starts[groups] + rng.random(len(groups)) * (ends[groups] - starts[groups])
    flat = np.searchsorted(cumulative, targets, side="right")
    # Rounding can push a target onto its group's last boundary; it must not spill into the next group.
    first = groups.astype(np.int64) * n_columns
    return np.clip(flat, first, first + n_columns - 1) - first
