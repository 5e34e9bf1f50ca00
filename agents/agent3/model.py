"""The churn classifier: formula features, then a regularized logistic regression.

Formulas (e.g. ``revenue_per_visit = revenue / visits``) live in params.yaml and are parsed by the
shared FormulaTransformer, so a data scientist adds a ratio without touching code and the fitted
pipeline carries the exact formulas it was trained with. A linear model over well-chosen ratios
beat gradient boosting on held-out customers here, and its probabilities are calibrated by
construction, which the calibration plot shows.
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from libs.features import FormulaTransformer

FEATURES = [
    "revenue",
    "visits",
    "recency_days",
    "tenure_days",
    "observed_days",
    "avg_basket",
    "distinct_products",
    "visits_last_28d",
    "visits_prior_28d",
    "is_budget",
    "is_premium",
]
TARGET = "churned"
BASELINE_FEATURE = "recency_days"


def build_model(formulas: list[str], *, regularization: float, max_iter: int) -> Pipeline:
    """``regularization`` is scikit-learn's C: smaller means a simpler model."""
    return Pipeline(
        [
            ("formulas", FormulaTransformer(formulas)),
            ("scale", StandardScaler()),
            ("classifier", LogisticRegression(C=regularization, max_iter=max_iter)),
        ]
    )


def build_baseline() -> Pipeline:
    """One-feature logistic regression on recency: what a careful analyst would try first."""
    return Pipeline([("scale", StandardScaler()), ("logistic", LogisticRegression())])
