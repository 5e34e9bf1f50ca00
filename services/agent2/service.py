"""agent2's BentoML service: daily demand per store and product from the champion forecaster.

``/forecast`` is adaptively batched: requests that arrive together are merged (their rows
concatenated, up to ``BATCH_ROWS``) into one ``predict`` call and the answers split back per request.
The forecaster's predict has a large fixed cost (its categorical preprocessing), so one call on 32
requests' rows costs about twice one call on one request's: merging is what lets one worker keep up
under concurrent load (bench/serving). Each request is validated on its own before it joins a batch,
and a batch that fails anyway is retried request by request (``libs.serving.bentoml_fixes``), so
one request's rows never decide another's answer. Champion, reload, logging and refusals:
``libs.serving.runtime``.
"""

from __future__ import annotations

from collections.abc import Sequence

import bentoml
import numpy as np

from agents.agent2.model import FEATURES
from libs.messages import MAX_BATCH, DemandBatch, DemandFeatures, DemandForecast
from libs.modelfiles.bundle import Champion
from libs.serving.answers import JsonAnswers
from libs.serving.features import check_feature_names, column_matrix, ignore_unnamed_features_warning
from libs.serving.http import http_service
from libs.serving.runtime import BATCH_MAX_LATENCY_MS, AgentRuntime, AgentService

# Rows per merged predict call: two maximum-size requests, or about 70 of the coordinator's 28-day horizons.
BATCH_ROWS = 2 * MAX_BATCH

ignore_unnamed_features_warning()  # fitted feature names are checked on load instead


def _can_predict(champion: Champion) -> None:
    if not hasattr(champion.model, "predict"):
        raise TypeError(f"{champion.model_name} v{champion.model_version} cannot predict")
    check_feature_names(champion, FEATURES)


def _quantities(model: object, rows: Sequence[DemandFeatures]) -> np.ndarray:
    return np.clip(model.predict(column_matrix(rows, FEATURES)), 0.0, None)  # type: ignore[attr-defined]


@http_service("agent2-demand-forecaster")
class DemandForecaster(AgentService):
    def __init__(self) -> None:
        self.runtime = AgentRuntime("agent2", check=_can_predict, logged_fields=FEATURES)

    @bentoml.api(batchable=True, max_batch_size=BATCH_ROWS, max_latency_ms=BATCH_MAX_LATENCY_MS)
    def forecast(self, rows: DemandBatch) -> JsonAnswers[DemandForecast]:
        """Forecasts for store-product-days, in the order given, each naming the model that made it."""
        # Called with the rows of every request in a merged batch; BentoML hands each request its slice.
        answered = self.runtime.answer(rows, _quantities, field="rows")
        return [
            DemandForecast(
                store_id=row.store_id,
                product_id=row.product_id,
                predicted_quantity=quantity,
                **answered.identity,
            )
            for row, quantity in answered.pairs(rows)
        ]
