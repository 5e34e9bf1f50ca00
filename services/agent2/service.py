"""agent2's BentoML service: daily demand per store and product from the champion forecaster.

Callers (the coordinator's restock planning) already send a horizon of days per request, so the
endpoint takes a batch and is not adaptively batched: merging requests would buy nothing.
"""

from __future__ import annotations

import bentoml
import numpy as np
import pandas as pd

from agents.agent2.model import FEATURES
from libs.messages import DemandBatch, DemandForecast
from libs.serving.champion import Champion, champion_dir, load_champion
from libs.serving.limits import BodySizeLimit


@bentoml.service(name="agent2-demand-forecaster", traffic={"timeout": 30})
class DemandForecaster:
    def __init__(self) -> None:
        self.champion: Champion | None = None
        champion = load_champion(champion_dir("agent2"))
        if not hasattr(champion.model, "predict"):
            raise TypeError(f"{champion.model_name} v{champion.model_version} cannot predict")
        self.champion = champion

    def __is_ready__(self) -> bool:
        return self.champion is not None

    @bentoml.api
    def forecast(self, rows: DemandBatch) -> list[DemandForecast]:
        assert self.champion is not None
        frame = pd.DataFrame([row.model_dump() for row in rows], columns=FEATURES).astype("float64")
        predicted = np.clip(self.champion.model.predict(frame), 0.0, None)  # type: ignore[attr-defined]
        return [
            DemandForecast(
                store_id=row.store_id,
                product_id=row.product_id,
                predicted_quantity=float(quantity),
                model_name=self.champion.model_name,
                model_version=self.champion.model_version,
            )
            for row, quantity in zip(rows, predicted, strict=True)
        ]


DemandForecaster.add_asgi_middleware(BodySizeLimit)  # type: ignore[attr-defined]  # a Service at run time
