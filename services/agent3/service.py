"""agent3's BentoML service: churn probability per customer from the champion classifier."""

from __future__ import annotations

import bentoml
import pandas as pd

from agents.agent3.model import FEATURES
from libs.features import FormulaTransformer  # noqa: F401  the champion pipeline holds one; skops needs it
from libs.messages import ChurnAssessment, CustomerBatch
from libs.serving.champion import Champion, champion_dir, load_champion
from libs.serving.limits import BodySizeLimit


@bentoml.service(name="agent3-churn-classifier", traffic={"timeout": 30})
class ChurnClassifier:
    def __init__(self) -> None:
        self.champion: Champion | None = None
        champion = load_champion(champion_dir("agent3"))
        if not hasattr(champion.model, "predict_proba"):
            raise TypeError(f"{champion.model_name} v{champion.model_version} gives no probabilities")
        self.champion = champion

    def __is_ready__(self) -> bool:
        return self.champion is not None

    @bentoml.api
    def assess(self, customers: CustomerBatch) -> list[ChurnAssessment]:
        assert self.champion is not None
        frame = pd.DataFrame([row.model_dump() for row in customers], columns=FEATURES).astype("float64")
        probabilities = self.champion.model.predict_proba(frame)[:, 1]  # type: ignore[attr-defined]
        return [
            ChurnAssessment(
                customer_id=row.customer_id,
                churn_probability=float(probability),
                model_name=self.champion.model_name,
                model_version=self.champion.model_version,
            )
            for row, probability in zip(customers, probabilities, strict=True)
        ]


ChurnClassifier.add_asgi_middleware(BodySizeLimit)  # type: ignore[attr-defined]  # a Service at run time
