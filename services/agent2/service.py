"""agent2's BentoML service: daily demand per store and product from the champion forecaster.

``/forecast`` is adaptively batched: requests that arrive together are merged (their rows
concatenated, up to ``BATCH_ROWS``) into one ``predict`` call and the answers split back per request.
The forecaster's predict has a large fixed cost (its categorical preprocessing), so one call on 32
requests' rows costs about twice one call on one request's: merging is what lets one worker keep up
under concurrent load (bench/serving). Each request is still validated on its own, so a malformed
request gets its own 400 and never joins a batch; rows that validate but that the model refuses
(a ValueError from scikit-learn) fail their whole batch with a 400. The champion is hot-reloaded
when a new bundle is exported, and every answer is logged for monitoring.
"""

from __future__ import annotations

import time

import bentoml
import numpy as np

from agents.agent2.model import FEATURES
from libs.messages import MAX_BATCH, DemandBatch, DemandForecast
from libs.serving.answers import JsonAnswers
from libs.serving.champion import Champion, champion_dir, check_feature_names
from libs.serving.collector import settle_heap
from libs.serving.features import column_matrix, ignore_unnamed_features_warning
from libs.serving.limits import BodySizeLimit
from libs.serving.predictions import ServicePredictions
from libs.serving.readiness import out_of_range_message, serving_champion
from libs.serving.reload import LiveChampion
from libs.settings import Settings

# The request fields a prediction log records: the model's features (built once, not per row).
LOGGED_FIELDS = set(FEATURES)

# Rows per merged predict call: two maximum-size requests, or about 70 of the coordinator's 28-day horizons.
BATCH_ROWS = 2 * MAX_BATCH
# A request that would wait past the request timeout anyway is answered 503 ("overloaded") instead.
TIMEOUT_S = 30
MAX_QUEUE_MS = TIMEOUT_S * 1000

ignore_unnamed_features_warning()  # fitted feature names are checked on load instead


def _can_predict(champion: Champion) -> None:
    if not hasattr(champion.model, "predict"):
        raise TypeError(f"{champion.model_name} v{champion.model_version} cannot predict")
    check_feature_names(champion, FEATURES)


@bentoml.service(
    name="agent2-demand-forecaster",
    workers=Settings().serve_workers,  # predict is CPU-bound: a worker, and its own GIL, per core
    traffic={"timeout": TIMEOUT_S},
    http={"host": Settings().serve_host},
)
class DemandForecaster:
    def __init__(self) -> None:
        self.live = LiveChampion(champion_dir("agent2"), check=_can_predict)
        self.predictions = ServicePredictions("agent2")
        settle_heap()  # last: what __init__ loaded stays out of every later collection

    def __is_ready__(self) -> bool:
        return self.live.ready

    @bentoml.on_shutdown
    def close(self) -> None:
        self.live.close()
        self.predictions.close()

    @bentoml.api(batchable=True, max_batch_size=BATCH_ROWS, max_latency_ms=MAX_QUEUE_MS)
    def forecast(self, rows: DemandBatch) -> JsonAnswers[DemandForecast]:
        """Forecasts for store-product-days, in the order given, each naming the model that made it."""
        # Called with the rows of every request in a merged batch; BentoML hands each request its slice.
        started = time.perf_counter()
        champion = serving_champion(self.live)  # one read: the whole batch is answered by one model
        features = column_matrix(rows, FEATURES)
        try:
            predicted = np.clip(champion.model.predict(features), 0.0, None)  # type: ignore[attr-defined]
        except ValueError as error:  # scikit-learn's check of the (transformed) features
            raise bentoml.exceptions.InvalidArgument(out_of_range_message(error, "rows")) from error
        self.predictions.log(
            [row.model_dump(include=LOGGED_FIELDS) for row in rows],
            [float(value) for value in predicted],
            champion,
            started=started,
        )
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
