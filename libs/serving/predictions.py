"""What a service does with each answer: log it for monitoring, and say on /metrics what was lost.

API::

    predictions = ServicePredictions("agent2")     # directory: Settings().prediction_log_dir
    predictions.log(rows, outputs, champion, started=time.perf_counter())
    predictions.close()                            # from the service's @bentoml.on_shutdown

Logging must never slow or fail an answer: ``PredictionLogger.log`` only enqueues, files are encoded
and written by a child process (off the interpreter lock requests are answered under), and anything
else that could go wrong here is swallowed. The logger's dropped count is exported as the
Prometheus counter ``prediction_log_dropped_total{agent=...}`` (a counter, so BentoML sums it over
its worker processes); it is brought up to date on each request, which is when drops happen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import bentoml

from libs.predictionlog.logger import PredictionLogger
from libs.predictionlog.records import Inputs

log = logging.getLogger(__name__)
# One INFO line per answered batch: shown in JSON mode (libs.logs), where a log store can filter it.
answers_log = logging.getLogger("libs.serving.answers")


class Identified(Protocol):
    """What answered: a champion bundle (``libs.modelfiles.bundle.Champion``) or an agent's answer."""

    @property
    def model_name(self) -> str: ...

    @property
    def model_version(self) -> str: ...


DROPPED = bentoml.metrics.Counter(
    name="prediction_log_dropped",
    documentation="Prediction log records lost (queue full, write errors); answers are never affected.",
    labelnames=["agent"],
)


class ServicePredictions:
    """One per service instance: a prediction logger plus its dropped-records counter."""

    def __init__(self, agent: str, directory: Path | None = None) -> None:
        self.agent = agent
        self.logger = PredictionLogger(agent, directory, separate_process=True)
        self._exported = 0
        self._shown = False  # the series is on /metrics
        self._lock = threading.Lock()
        self._export_dropped()  # the series shows on /metrics at 0 from the start

    def log(
        self, rows: Sequence[Inputs], outputs: Sequence[Any], champion: Identified, *, started: float
    ) -> None:
        """Queues one record per answered row; never raises."""
        self.log_answers(
            rows,
            outputs,
            model_name=champion.model_name,
            model_version=champion.model_version,
            started=started,
        )

    def log_answers(
        self,
        rows: Sequence[Inputs],
        outputs: Sequence[Any],
        *,
        model_name: str,
        model_version: str,
        started: float,
    ) -> None:
        """``log`` for answers made by a model served elsewhere (the coordinator's decisions)."""
        latency_ms = (time.perf_counter() - started) * 1000.0
        try:
            self.logger.log_batch(
                rows, outputs, model_name=model_name, model_version=model_version, latency_ms=latency_ms
            )
        except Exception:  # log_batch never raises; this guards the answer against the unforeseen
            log.debug("prediction log %s: record lost", self.agent, exc_info=True)
        if answers_log.isEnabledFor(logging.INFO):
            fields = {"agent": self.agent, "model_name": model_name, "model_version": model_version}
            extra = {**fields, "latency_ms": round(latency_ms, 3), "rows": len(rows)}
            answers_log.info(
                "answered %d rows with %s v%s", len(rows), model_name, model_version, extra=extra
            )
        self._export_dropped()

    def close(self) -> None:
        self.logger.close()
        self._export_dropped()

    def _export_dropped(self) -> None:
        if self._shown and self.logger.dropped <= self._exported:
            return  # nothing new, as on nearly every request: no lock, no label lookup
        try:
            with self._lock:
                counter = DROPPED.labels(agent=self.agent)
                self._shown = True
                new = self.logger.dropped - self._exported
                if new > 0:
                    counter.inc(new)
                    self._exported += new  # only once exported: a failed export is retried next request
        except Exception:  # metrics outside a BentoML server (in-process tests) may not be set up
            log.debug("prediction log %s: dropped count not exported", self.agent, exc_info=True)
