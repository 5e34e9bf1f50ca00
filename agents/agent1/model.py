"""The transaction sentinel's model: an IsolationForest whose raw scores are mapped to [0, 1].

Raw isolation scores have no fixed scale, so callers could not pick a threshold that survives a
retrain. The scorer keeps the training score distribution and reports each transaction's
percentile in it: 0.99 means "more anomalous than 99% of the training transactions".
Training hands it DataFrames; the service a float matrix in ``FEATURES`` order, and ships without pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # hints only: the service imports this module and ships without pandas
    import pandas as pd  # pants: no-infer-dep

FEATURES = ["log_amount", "quantity", "price_ratio", "hour_of_day", "amount_zscore"]
REFERENCE_QUANTILES = 1001


class AnomalyScorer(BaseEstimator):
    """``predict`` returns anomaly scores in [0, 1]; ``flag`` applies the training-time threshold."""

    def __init__(
        self,
        n_estimators: int = 200,
        max_samples: int | str = "auto",
        flag_quantile: float = 0.99,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.flag_quantile = flag_quantile
        self.random_state = random_state

    def fit(self, X: pd.DataFrame | np.ndarray, y: object = None) -> AnomalyScorer:
        if not 0.5 <= self.flag_quantile < 1:
            raise ValueError(f"flag_quantile must be in [0.5, 1), got {self.flag_quantile}")
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            random_state=self.random_state,
        ).fit(_feature_matrix(X))
        raw = self._raw_scores(X)
        self.reference_ = np.quantile(raw, np.linspace(0.0, 1.0, REFERENCE_QUANTILES))
        return self

    def _raw_scores(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return -self.forest_.score_samples(_feature_matrix(X))

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        check_is_fitted(self, "reference_")
        positions = np.searchsorted(self.reference_, self._raw_scores(X), side="right")
        return np.clip((positions - 1) / (REFERENCE_QUANTILES - 1), 0.0, 1.0)

    def flag(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(scores) >= self.flag_quantile


def _feature_matrix(X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """``FEATURES`` picked by name from a DataFrame, or a 2-D array taken as already in that order."""
    if not isinstance(X, np.ndarray):
        return X[FEATURES].to_numpy(dtype=float)
    if X.ndim != 2 or X.shape[1] != len(FEATURES):
        raise ValueError(
            f"expected rows of {len(FEATURES)} features ({', '.join(FEATURES)}), got shape {X.shape}"
        )
    return X.astype(float, copy=False)
