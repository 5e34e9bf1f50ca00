"""One runtime for every service: what an agent's service does besides calling its own model.

An agent's ``services/<agent>/service.py`` keeps only what is its own (its features, the check a
champion must pass, its endpoint) and gets the rest from here::

    @http_service("agent2-demand-forecaster")
    class DemandForecaster(AgentService):
        def __init__(self) -> None:
            self.runtime = AgentRuntime("agent2", check=can_predict, logged_fields=FEATURES)

        @bentoml.api(batchable=True, max_batch_size=BATCH_ROWS, max_latency_ms=BATCH_MAX_LATENCY_MS)
        def forecast(self, rows: DemandBatch) -> JsonAnswers[DemandForecast]:
            answered = self.runtime.answer(rows, predict_rows, field="rows")
            return [DemandForecast(..., **answered.identity) for row, value in answered.pairs(rows)]

``AgentRuntime`` owns the champion (loaded, hot-reloaded, readiness), prediction logging, the
shadow (``libs.serving.shadow``: scored beside the champion off the request path, when one is
exported), and the one way of refusing rows the model rejects (a 400 naming the field);
``AgentService`` answers /readyz from it and closes it on shutdown; ``http_service``
(``libs.serving.http``, shared with the coordinator) declares the service with the project's
timeout, workers, binding and guards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

import bentoml
from pydantic import BaseModel

from libs.modelfiles.bundle import Champion, champion_dir, shadow_dir
from libs.serving.collector import settle_heap
from libs.serving.http import REQUEST_TIMEOUT_S
from libs.serving.predictions import ServicePredictions
from libs.serving.readiness import serving_champion
from libs.serving.reload import LiveChampion
from libs.serving.shadow import ShadowScorer

# How long a request may wait in the adaptive batcher before it is shed with a 503: the time left
# once a worst-case merged predict fits in the request timeout. BentoML's quickstart value (tens of
# ms) is below one predict's time on a busy machine, which shed load at two concurrent clients.
BATCH_MAX_LATENCY_MS = (REQUEST_TIMEOUT_S - 5) * 1000

Row = TypeVar("Row", bound=BaseModel)


class RowsRefused(bentoml.exceptions.InvalidArgument):
    """Rows that passed validation but that the model cannot take: the caller's 400, naming the field."""


class Identity(TypedDict):
    """What every answer carries: the registered model and version that gave it."""

    model_name: str
    model_version: str


@dataclass(frozen=True)
class Answered:
    """One model call's outputs, with the champion that gave them (a whole batch gets one model)."""

    champion: Champion
    outputs: list[float]

    @property
    def identity(self) -> Identity:
        return {"model_name": self.champion.model_name, "model_version": self.champion.model_version}

    def pairs(self, rows: Sequence[Row]) -> Iterator[tuple[Row, float]]:
        return zip(rows, self.outputs, strict=True)


class AgentRuntime:
    """The champion an agent answers with, its prediction log, and how its answers are made."""

    def __init__(
        self,
        agent: str,
        *,
        check: Callable[[Champion], None],
        logged_fields: Collection[str],
    ) -> None:
        # A missing or corrupt bundle leaves the service alive but not ready (/readyz 503, one log
        # line saying why); a newly exported champion is loaded and swapped in.
        self.agent = agent
        self.live = LiveChampion(champion_dir(agent), check=check)
        self.predictions = ServicePredictions(agent)
        self.shadow = ShadowScorer(
            agent,
            LiveChampion(shadow_dir(agent), check=check, role="shadow", optional=True),
            log_directory=self.predictions.logger.directory,
            separate_process=True,
        )
        self.logged_fields = set(logged_fields)
        settle_heap()  # last: what start-up loaded stays out of every later collection

    @property
    def ready(self) -> bool:
        return self.live.ready

    def answer(
        self,
        rows: Sequence[Row],
        predict: Callable[[Any, Sequence[Row]], Sequence[float] | Any],
        *,
        field: str,
    ) -> Answered:
        """``predict(model, rows)`` with the current champion, logged; rows the model refuses
        (scikit-learn's ValueError, an overflow) are the caller's 400 naming ``field``."""
        started = time.perf_counter()
        champion = serving_champion(self.live)  # one read: the whole batch is answered by one model
        try:
            outputs = [float(value) for value in predict(champion.model, rows)]
        except (ValueError, OverflowError) as error:
            raise RowsRefused(f"{field}: values out of the model's numeric range ({error})") from error
        logged = [row.model_dump(include=self.logged_fields) for row in rows]
        self.predictions.log(logged, outputs, champion, started=started)
        self.shadow.submit(rows, logged, outputs, champion, predict)
        return Answered(champion, outputs)

    def close(self) -> None:
        """The champion's log first: the answers' records matter more than the shadow's."""
        self.live.close()
        self.predictions.close()
        self.shadow.close()


class AgentService:
    """Base of every agent's service class: readiness and shutdown come from its ``runtime``."""

    runtime: AgentRuntime

    def __is_ready__(self) -> bool:
        return self.runtime.ready

    @bentoml.on_shutdown
    def close(self) -> None:
        self.runtime.close()
