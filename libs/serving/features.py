"""Feature matrices for the agents' models, built without pandas so service images ship without it.

Services predict on bare float64 matrices in their FEATURES order; ``check_feature_names``
(below) checks once, when a champion loads, that its model was fitted on those
names, which scikit-learn would otherwise check (and warn about) on every request.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from libs.modelfiles.bundle import Champion


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


def check_feature_names(champion: Champion, features: Sequence[str], *, ordered: bool = True) -> None:
    """Services predict on bare float matrices in ``features`` order, which scikit-learn cannot
    check by name, so a model fitted on named columns (``feature_names_in_``) must have been fitted
    on exactly these, in this order (``ordered=False`` where the model looks columns up by name).
    Run as (part of) a ``LiveChampion`` check: a mismatch is a champion the service refuses to
    load, never a wrong answer."""
    fitted = getattr(champion.model, "feature_names_in_", None)
    if fitted is None:
        return
    names, wanted = [str(name) for name in fitted], list(features)
    if (names != wanted) if ordered else (sorted(names) != sorted(wanted)):
        raise ValueError(
            f"{champion.model_name} v{champion.model_version} was fitted on features {names},"
            f" not the service's {wanted}{' in that order' if ordered else ''}"
        )
