"""The churn classifier: formula features, then a calibrated gradient-boosted classifier.

Formulas (e.g. ``revenue_per_visit = revenue / visits``) live in params.yaml and are parsed by the
shared FormulaTransformer, so a data scientist adds a ratio without touching code and the fitted
pipeline carries the exact formulas it was trained with.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from libs.features import FormulaTransformer

FEATURES = ["revenue", "visits", "recency_days", "tenure_days", "avg_basket", "distinct_products"]
TARGET = "churned"
BASELINE_FEATURE = "recency_days"


def build_model(formulas: list[str], *, learning_rate: float, max_iter: int, random_state: int) -> Pipeline:
    classifier = HistGradientBoostingClassifier(
        learning_rate=learning_rate, max_iter=max_iter, random_state=random_state
    )
    return Pipeline(
        [
            ("formulas", FormulaTransformer(formulas)),
            ("classifier", CalibratedClassifierCV(classifier, method="isotonic", cv=3)),
        ]
    )


def build_baseline() -> Pipeline:
    """One-feature logistic regression on recency: what a careful analyst would try first."""
    return Pipeline([("scale", StandardScaler()), ("logistic", LogisticRegression())])
