"""agent1's BentoML service: anomaly scores for transactions from the champion sentinel.

Screening is called once per transaction at a high rate, so the endpoint is batchable: BentoML
gathers concurrent requests into one model call (adaptive batching), which is where the
IsolationForest spends its time. Champion, reload, logging and refusals: ``libs.serving.runtime``.
"""

from __future__ import annotations

from collections.abc import Sequence

import bentoml
import numpy as np

from agents.agent1.model import FEATURES, AnomalyScorer
from libs.messages import MAX_BATCH, ScreeningResult, TransactionBatch, TransactionFeatures
from libs.modelfiles.bundle import Champion
from libs.serving.answers import JsonAnswers
from libs.serving.features import column_matrix
from libs.serving.http import http_service
from libs.serving.runtime import BATCH_MAX_LATENCY_MS, AgentRuntime, AgentService


def _is_scorer(champion: Champion) -> None:
    if not isinstance(champion.model, AnomalyScorer):
        raise TypeError(f"{champion.model_name} v{champion.model_version} is not an AnomalyScorer")


def _scores(scorer: AnomalyScorer, rows: Sequence[TransactionFeatures]) -> np.ndarray:
    return scorer.predict(column_matrix(rows, FEATURES))  # FEATURES order


@http_service("agent1-transaction-sentinel")
class TransactionSentinel(AgentService):
    def __init__(self) -> None:
        self.runtime = AgentRuntime("agent1", check=_is_scorer, logged_fields=FEATURES)

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=BATCH_MAX_LATENCY_MS)
    def score(self, transactions: TransactionBatch) -> JsonAnswers[ScreeningResult]:
        answered = self.runtime.answer(transactions, _scores, field="transactions")
        scorer: AnomalyScorer = answered.champion.model  # type: ignore[assignment]  # checked on load
        flags = scorer.flag(np.asarray(answered.outputs))
        return [
            ScreeningResult(
                transaction_id=row.transaction_id,
                anomaly_score=score,
                is_flagged=bool(flag),
                **answered.identity,
            )
            for (row, score), flag in zip(answered.pairs(transactions), flags, strict=True)
        ]
