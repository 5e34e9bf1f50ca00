"""Feature matrices for the agents' models, built without pandas so service images ship without it.

Services predict on bare float64 matrices in their FEATURES order; ``check_feature_names``
(libs.serving.champion) checks once, when a champion loads, that its model was fitted on those
names, which scikit-learn would otherwise check (and warn about) on every request.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np


def column_matrix(rows: Sequence[object], features: Sequence[str]) -> np.ndarray:
    """float64, column by column in ``features`` order, from validated request rows (None becomes NaN)."""
    return np.column_stack(
        [np.array([getattr(row, name) for row in rows], dtype=np.float64) for name in features]
    )


def ignore_unnamed_features_warning() -> None:
    """Silences scikit-learn's "X does not have valid feature names" for this process, and only it.

    A model fitted on a DataFrame warns when it gets a matrix; the service's load-time check has
    already matched the fitted names, so the warning would only fill the logs.
    """
    warnings.filterwarnings(
        "ignore",
        message="X does not have valid feature names",
        category=UserWarning,
        module=r"sklearn\.utils\.validation",
    )
