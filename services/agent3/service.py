"""agent3's BentoML service: churn probability per customer from the champion classifier.

The champion is hot-reloaded when a new bundle is exported, and every answer is logged for
monitoring.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import bentoml
import numpy as np
from sklearn.pipeline import Pipeline

from agents.agent3.model import FEATURES
from libs.features import FormulaTransformer
from libs.messages import ChurnAssessment, CustomerBatch
from libs.serving.answers import JsonAnswers
from libs.serving.champion import Champion, champion_dir, check_feature_names
from libs.serving.collector import settle_heap
from libs.serving.features import ignore_unnamed_features_warning
from libs.serving.limits import BodySizeLimit
from libs.serving.predictions import ServicePredictions
from libs.serving.readiness import out_of_range, serving_champion
from libs.serving.reload import LiveChampion
from libs.settings import Settings

# The request fields a prediction log records: the model's features (built once, not per row).
LOGGED_FIELDS = set(FEATURES)

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


def _feature_columns(inputs: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """One float64 array per feature, by name: what the champion's FormulaTransformer takes without pandas."""
    return {name: np.array([row[name] for row in inputs], dtype=np.float64) for name in FEATURES}


@bentoml.service(
    name="agent3-churn-classifier",
    workers=Settings().serve_workers,
    traffic={"timeout": 30},
    http={"host": Settings().serve_host},
)
class ChurnClassifier:
    def __init__(self) -> None:
        self.live = LiveChampion(champion_dir("agent3"), check=_gives_probabilities)
        self.predictions = ServicePredictions("agent3")
        settle_heap()  # last: what __init__ loaded stays out of every later collection

    def __is_ready__(self) -> bool:
        return self.live.ready

    @bentoml.on_shutdown
    def close(self) -> None:
        self.live.close()
        self.predictions.close()

    @bentoml.api
    def assess(self, customers: CustomerBatch) -> JsonAnswers[ChurnAssessment]:
        started = time.perf_counter()
        champion = serving_champion(self.live)  # one read: the whole batch is answered by one model
        inputs = [row.model_dump(include=LOGGED_FIELDS) for row in customers]
        try:
            probabilities = champion.model.predict_proba(_feature_columns(inputs))[:, 1]  # type: ignore[attr-defined]
        except ValueError as error:  # scikit-learn's check of the (transformed) features
            return out_of_range(error, "customers")
        self.predictions.log(inputs, [float(p) for p in probabilities], champion, started=started)
        return [
            ChurnAssessment(
                customer_id=row.customer_id,
                churn_probability=float(probability),
                model_name=champion.model_name,
                model_version=champion.model_version,
            )
            for row, probability in zip(customers, probabilities, strict=True)
        ]


ChurnClassifier.add_asgi_middleware(BodySizeLimit)  # type: ignore[attr-defined]  # a Service at run time
