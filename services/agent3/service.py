"""agent3's BentoML service: churn probability per customer from the champion classifier.

Champion, reload, logging and refusals: ``libs.serving.runtime``.
"""

from __future__ import annotations

from collections.abc import Sequence

import bentoml
import numpy as np
from sklearn.pipeline import Pipeline

from agents.agent3.model import FEATURES
from libs.features import FormulaTransformer
from libs.messages import ChurnAssessment, CustomerBatch, CustomerFeatures
from libs.modelfiles.bundle import Champion
from libs.serving.answers import JsonAnswers
from libs.serving.features import check_feature_names, ignore_unnamed_features_warning
from libs.serving.http import http_service
from libs.serving.runtime import AgentRuntime, AgentService

ignore_unnamed_features_warning()  # fitted feature names are checked on load instead


def _gives_probabilities(champion: Champion) -> None:
    """The champion takes named columns (a FormulaTransformer first) fitted on FEATURES, in any order."""
    model = champion.model
    if not hasattr(model, "predict_proba"):
        raise TypeError(f"{champion.model_name} v{champion.model_version} gives no probabilities")
    first = model[0] if isinstance(model, Pipeline) else model
    if not isinstance(first, FormulaTransformer):
        raise TypeError(
            f"{champion.model_name} v{champion.model_version} does not start with a FormulaTransformer,"
            " so it cannot take named columns"
        )
    check_feature_names(champion, FEATURES, ordered=False)  # the FormulaTransformer finds columns by name


def _probabilities(model: object, rows: Sequence[CustomerFeatures]) -> np.ndarray:
    """One float64 array per feature, by name: what the FormulaTransformer takes without pandas."""
    columns = {name: np.array([getattr(row, name) for row in rows], dtype=np.float64) for name in FEATURES}
    return model.predict_proba(columns)[:, 1]  # type: ignore[attr-defined]


@http_service("agent3-churn-classifier")
class ChurnClassifier(AgentService):
    def __init__(self) -> None:
        self.runtime = AgentRuntime("agent3", check=_gives_probabilities, logged_fields=FEATURES)

    @bentoml.api
    def assess(self, customers: CustomerBatch) -> JsonAnswers[ChurnAssessment]:
        answered = self.runtime.answer(customers, _probabilities, field="customers")
        return [
            ChurnAssessment(customer_id=row.customer_id, churn_probability=probability, **answered.identity)
            for row, probability in answered.pairs(customers)
        ]
