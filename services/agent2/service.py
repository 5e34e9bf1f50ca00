"""agent2's BentoML service: daily demand per store and product from the champion forecaster.

Callers (the coordinator's restock planning) already send a horizon of days per request, so the
endpoint takes a batch and is not adaptively batched: merging requests would buy nothing. The
champion is hot-reloaded when a new bundle is exported, and every answer is logged for monitoring.
"""

from __future__ import annotations

import time

import bentoml
import numpy as np
import pandas as pd

from agents.agent2.model import FEATURES
from libs.messages import DemandBatch, DemandForecast
from libs.serving.champion import Champion, champion_dir
from libs.serving.limits import BodySizeLimit
from libs.serving.predictions import ServicePredictions
from libs.serving.readiness import out_of_range, serving_champion
from libs.serving.reload import LiveChampion
from libs.settings import Settings


def _can_predict(champion: Champion) -> None:
    if not hasattr(champion.model, "predict"):
        raise TypeError(f"{champion.model_name} v{champion.model_version} cannot predict")


@bentoml.service(
    name="agent2-demand-forecaster", traffic={"timeout": 30}, http={"host": Settings().serve_host}
)
class DemandForecaster:
    def __init__(self) -> None:
        self.live = LiveChampion(champion_dir("agent2"), check=_can_predict)
        self.predictions = ServicePredictions("agent2")

    def __is_ready__(self) -> bool:
        return self.live.ready

    @bentoml.on_shutdown
    def close(self) -> None:
        self.live.close()
        self.predictions.close()

    @bentoml.api
    def forecast(self, rows: DemandBatch) -> list[DemandForecast]:
        started = time.perf_counter()
        champion = serving_champion(self.live)  # one read: the whole batch is answered by one model
        inputs = [row.model_dump(include=set(FEATURES)) for row in rows]
        frame = pd.DataFrame(inputs, columns=FEATURES).astype("float64")
        try:
            predicted = np.clip(champion.model.predict(frame), 0.0, None)  # type: ignore[attr-defined]
        except ValueError as error:  # scikit-learn's check of the (transformed) features
            return out_of_range(error, "rows")
        self.predictions.log(inputs, [float(value) for value in predicted], champion, started=started)
        return [
            DemandForecast(
                store_id=row.store_id,
                product_id=row.product_id,
                predicted_quantity=float(quantity),
                model_name=champion.model_name,
                model_version=champion.model_version,
            )
            for row, quantity in zip(rows, predicted, strict=True)
        ]


DemandForecaster.add_asgi_middleware(BodySizeLimit)  # type: ignore[attr-defined]  # a Service at run time
