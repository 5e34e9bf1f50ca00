"""Shadow scoring: the shadow model sees every answered request, off the request path, and never answers.

API::

    shadow = ShadowScorer("agent2", LiveChampion(shadow_dir("agent2"), check=..., optional=True))
    shadow.submit(rows, logged_rows, outputs, champion, predict)   # on the request path: enqueue only
    shadow.close()

``submit`` puts the request on a bounded queue and returns; one daemon thread takes it off, scores
the rows with the shadow and logs the shadow's predictions. When no shadow is loaded nothing is
queued. The thread merges what queued up within ``gather_s`` of the first request into one predict
call, as the service's adaptive batching does for the champion: a model's predict has a fixed cost
per call (agent2's forecaster: 2.3 ms on one request's 28 rows, 3.0 ms on eight requests' 224). A
merged call that raises is retried request by request, so one request's rows never cost another's
shadow scores. In a service the shadow's log is encoded in a child process, as the champion's is:
encoding it under the interpreter lock requests are answered under, with each request scored on
its own, cost the answers 63% of their p99 (bench/serving/shadow_cost.py).

A full queue (the shadow is slower than the traffic) or a shadow that raises loses that request's
shadow scores, never the answer: they are counted on /metrics as
``shadow_scores_dropped_total{agent=...,reason="queue_full"|"error"}`` (rows, not requests).

Shadow predictions go to their own prediction log, ``<prediction log dir>/<agent>-shadow/``, in the
ordinary record format (``libs.predictionlog.records``) so the monitor's drift checks never count
them as traffic. Each record is the shadow's output and version; its inputs are the logged
features plus two more fields, ``champion_output`` and ``champion_version``: what the champion
answered for the same row, so champion and shadow compare row by row with no join.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml

from libs.modelfiles.bundle import Champion
from libs.predictionlog.logger import PredictionLogger
from libs.serving.reload import LiveChampion, NoChampion

log = logging.getLogger(__name__)

SHADOW_LOG_SUFFIX = "-shadow"
CHAMPION_OUTPUT, CHAMPION_VERSION = "champion_output", "champion_version"
DEFAULT_QUEUE_REQUESTS = 256
# How long the thread lets requests gather before one merged predict, and how many rows one call takes.
DEFAULT_GATHER_S = 0.05
DEFAULT_BATCH_ROWS = 4096

DROPPED = bentoml.metrics.Counter(
    name="shadow_scores_dropped",
    documentation="Rows the shadow model did not score (queue full, shadow failed); answers are unaffected.",
    labelnames=["agent", "reason"],
)


def shadow_log_name(agent: str) -> str:
    """The prediction-log folder of an agent's shadow scores."""
    return f"{agent}{SHADOW_LOG_SUFFIX}"


@dataclass(frozen=True, slots=True)
class _Scoring:
    rows: Sequence[Any]
    logged: Sequence[Mapping[str, Any]]
    champion_outputs: Sequence[float]
    champion_version: str
    predict: Callable[[Any, Sequence[Any]], Any]
    answered_at: datetime  # the shadow's records carry the time the champion answered, as its own do


class ShadowScorer:
    """Scores the shadow (when one is loaded) on what the champion answered, in a thread of its own."""

    def __init__(
        self,
        agent: str,
        live: LiveChampion,
        *,
        log_directory: Path | None = None,
        max_queue: int = DEFAULT_QUEUE_REQUESTS,
        gather_s: float = DEFAULT_GATHER_S,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        separate_process: bool = False,
    ) -> None:
        """``separate_process``: the shadow's log records are encoded and written in a child process,
        as the champion's are (``libs.serving.predictions``), not under the lock requests are answered
        under; services pass True."""
        self.agent = agent
        self.live = live
        self.logger = PredictionLogger(
            shadow_log_name(agent), log_directory, separate_process=separate_process
        )
        self._queue: queue.Queue[_Scoring | None] = queue.Queue(maxsize=max_queue)
        self.gather_s, self.batch_rows = gather_s, batch_rows
        self.calls = 0  # shadow predict calls made: fewer than requests scored when they merge
        self.dropped = {"queue_full": 0, "error": 0}
        self._lock = threading.Lock()
        self.scored = 0
        self._thread = threading.Thread(target=self._run, name=f"shadow-{agent}", daemon=True)
        self._thread.start()
        for reason in self.dropped:
            self._count(reason, 0)  # the series show on /metrics at 0 from the start

    @property
    def version(self) -> str | None:
        """The shadow's version, None while no shadow is loaded."""
        try:
            return self.live.current.model_version
        except NoChampion:
            return None

    def submit(
        self,
        rows: Sequence[Any],
        logged: Sequence[Mapping[str, Any]],
        champion_outputs: Sequence[float],
        champion: Champion,
        predict: Callable[[Any, Sequence[Any]], Any],
    ) -> None:
        """Queues one answered request for the shadow; returns at once and never raises."""
        if not self.live.ready:
            return
        if not len(rows) == len(logged) == len(champion_outputs):
            # Merged with others, a request whose parts disagree would shift their rows in the log.
            counts = (len(rows), len(logged), len(champion_outputs))
            log.debug("shadow %s: request with %d rows, %d logged, %d answers refused", self.agent, *counts)
            self._drop("error", len(rows))
            return
        try:
            item = _Scoring(
                rows, logged, champion_outputs, champion.model_version, predict, datetime.now(UTC)
            )
            self._queue.put_nowait(item)
        except queue.Full:
            self._drop("queue_full", len(rows))
        except Exception:  # the answer must not notice
            log.debug("shadow %s: request not queued", self.agent, exc_info=True)
            self._drop("error", len(rows))

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Waits until every queued request is scored and its log written (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and self._thread.is_alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return self.logger.flush(max(deadline - time.monotonic(), 0.1))

    def close(self) -> None:
        self.flush(5.0)
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=1.0)
        self._thread.join(5.0)
        self.live.close()
        self.logger.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch, stop = self._gather(first)
            try:
                self._score(batch)
            except Exception as error:  # the thread must outlive any request: these rows are lost, counted
                log.warning(
                    "shadow %s: %d requests not scored: %s", self.agent, len(batch), type(error).__name__
                )
                self._drop("error", sum(len(item.rows) for item in batch))
            finally:
                for _ in range(len(batch) + stop):
                    self._queue.task_done()
            if stop:
                return

    def _gather(self, first: _Scoring) -> tuple[list[_Scoring], bool]:
        """``first`` and what queued up behind it within ``gather_s``, up to ``batch_rows`` rows."""
        time.sleep(self.gather_s)
        batch, rows = [first], len(first.rows)
        while rows < self.batch_rows:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            rows += len(item.rows)
        return batch, False

    def _score(self, batch: list[_Scoring]) -> None:
        started = time.perf_counter()
        try:
            shadow = self.live.current
        except NoChampion:  # removed since the requests were queued
            return
        for predict in dict.fromkeys(item.predict for item in batch):  # one call per predict function
            group = [item for item in batch if item.predict == predict]
            outputs: list[float] | None
            try:
                outputs = self._predict(shadow, group)
            except Exception:  # one request's rows must not cost the others their scores
                outputs = None if len(group) > 1 else []
            if outputs is None:
                for item in group:
                    self._score([item])
                continue
            self._log(shadow, group, outputs, started)

    def _predict(self, shadow: Champion, group: list[_Scoring]) -> list[float]:
        rows = [row for item in group for row in item.rows]
        try:
            self.calls += 1
            outputs = [float(value) for value in group[0].predict(shadow.model, rows)]
            if len(outputs) != len(rows):
                raise ValueError(f"{len(outputs)} shadow outputs for {len(rows)} rows")
        except Exception as error:  # a failing shadow costs its own scores, nothing else
            if len(group) == 1:
                log.warning(
                    "shadow %s v%s failed on %d rows: %s",
                    shadow.model_name,
                    shadow.model_version,
                    len(rows),
                    error,
                )
                self._drop("error", len(rows))
            raise
        return outputs

    def _log(self, shadow: Champion, group: list[_Scoring], outputs: list[float], started: float) -> None:
        """Each request's rows as a batch of their own, stamped with its answer's time: one merged call
        must not make its requests' records one indistinguishable, same-time block in the log."""
        if not outputs:  # the one request of a failed call: already counted as dropped
            return
        latency_ms = (time.perf_counter() - started) * 1000.0
        offset = 0
        for item in group:
            start, offset = offset, offset + len(item.rows)  # submit checked rows, logs and answers agree
            try:
                inputs = [
                    {**row, CHAMPION_OUTPUT: answer, CHAMPION_VERSION: item.champion_version}
                    for row, answer in zip(item.logged, item.champion_outputs, strict=True)
                ]
            except Exception:  # this request's records cannot be built: it alone loses its scores
                self._drop("error", len(item.rows))
                continue
            self.logger.log_batch(
                inputs,
                outputs[start:offset],
                model_name=shadow.model_name,
                model_version=shadow.model_version,
                latency_ms=latency_ms,
                timestamp=item.answered_at,
            )
            self.scored += len(inputs)

    def _drop(self, reason: str, rows: int) -> None:
        with self._lock:
            self.dropped[reason] += rows
        self._count(reason, rows)

    def _count(self, reason: str, rows: int) -> None:
        try:
            DROPPED.labels(agent=self.agent, reason=reason).inc(rows)
        except Exception:  # metrics outside a BentoML server (in-process use) may not be set up
            log.debug("shadow %s: dropped count not exported", self.agent, exc_info=True)
