"""agent1's BentoML service: anomaly scores for transactions from the champion sentinel.

Screening is called once per transaction at a high rate, so the endpoint is batchable: BentoML
gathers concurrent requests into one model call (adaptive batching), which is where the
IsolationForest spends its time.
"""

from __future__ import annotations

import bentoml
import pandas as pd

from agents.agent1.model import FEATURES, AnomalyScorer
from libs.messages import MAX_BATCH, ScreeningResult, TransactionBatch
from libs.serving.champion import Champion, champion_dir, load_champion
from libs.serving.limits import BodySizeLimit


@bentoml.service(name="agent1-transaction-sentinel", traffic={"timeout": 30})
class TransactionSentinel:
    def __init__(self) -> None:
        self.champion: Champion | None = None
        champion = load_champion(champion_dir("agent1"))
        if not isinstance(champion.model, AnomalyScorer):
            raise TypeError(f"{champion.model_name} v{champion.model_version} is not an AnomalyScorer")
        self.scorer: AnomalyScorer = champion.model
        self.champion = champion

    def __is_ready__(self) -> bool:
        return self.champion is not None

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=50)
    def score(self, transactions: TransactionBatch) -> list[ScreeningResult]:
        assert self.champion is not None
        frame = pd.DataFrame(
            [row.model_dump() for row in transactions], columns=["transaction_id", *FEATURES]
        )
        scores = self.scorer.predict(frame[FEATURES].astype("float64"))
        flags = self.scorer.flag(scores)
        return [
            ScreeningResult(
                transaction_id=row.transaction_id,
                anomaly_score=float(score),
                is_flagged=bool(flag),
                model_name=self.champion.model_name,
                model_version=self.champion.model_version,
            )
            for row, score, flag in zip(transactions, scores, flags, strict=True)
        ]


TransactionSentinel.add_asgi_middleware(BodySizeLimit)  # type: ignore[attr-defined]  # a Service at run time
