"""agent1's BentoML service: anomaly scores for transactions from the champion sentinel.

Screening is called once per transaction at a high rate, so the endpoint is batchable: BentoML
gathers concurrent requests into one model call (adaptive batching), which is where the
IsolationForest spends its time. The champion is hot-reloaded when a new bundle is exported, and
every answer is logged for monitoring.
"""

from __future__ import annotations

import time

import bentoml

from agents.agent1.model import FEATURES, AnomalyScorer
from libs.messages import MAX_BATCH, ScreeningResult, TransactionBatch
from libs.serving.answers import JsonAnswers
from libs.serving.champion import Champion, champion_dir
from libs.serving.collector import settle_heap
from libs.serving.features import clipped_to_float32, column_matrix
from libs.serving.limits import BodySizeLimit
from libs.serving.predictions import ServicePredictions
from libs.serving.readiness import serving_champion
from libs.serving.reload import LiveChampion
from libs.settings import Settings

# The request fields a prediction log records: the model's features (built once, not per row).
LOGGED_FIELDS = set(FEATURES)


def _is_scorer(champion: Champion) -> None:
    if not isinstance(champion.model, AnomalyScorer):
        raise TypeError(f"{champion.model_name} v{champion.model_version} is not an AnomalyScorer")


@bentoml.service(
    name="agent1-transaction-sentinel",
    workers=Settings().serve_workers,
    traffic={"timeout": 30},
    http={"host": Settings().serve_host},
)
class TransactionSentinel:
    def __init__(self) -> None:
        self.live = LiveChampion(champion_dir("agent1"), check=_is_scorer)
        self.predictions = ServicePredictions("agent1")
        settle_heap()  # last: what __init__ loaded stays out of every later collection

    def __is_ready__(self) -> bool:
        return self.live.ready

    @bentoml.on_shutdown
    def close(self) -> None:
        self.live.close()
        self.predictions.close()

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=50)
    def score(self, transactions: TransactionBatch) -> JsonAnswers[ScreeningResult]:
        started = time.perf_counter()
        champion = serving_champion(self.live)  # one read: the whole batch is answered by one model
        scorer: AnomalyScorer = champion.model  # type: ignore[assignment]  # checked on load
        inputs = [row.model_dump(include=LOGGED_FIELDS) for row in transactions]
        scores = scorer.predict(clipped_to_float32(column_matrix(transactions, FEATURES)))  # FEATURES order
        flags = scorer.flag(scores)
        self.predictions.log(inputs, [float(score) for score in scores], champion, started=started)
        return [
            ScreeningResult(
                transaction_id=row.transaction_id,
                anomaly_score=float(score),
                is_flagged=bool(flag),
                model_name=champion.model_name,
                model_version=champion.model_version,
            )
            for row, score, flag in zip(transactions, scores, flags, strict=True)
        ]


TransactionSentinel.add_asgi_middleware(BodySizeLimit)  # type: ignore[attr-defined]  # a Service at run time
