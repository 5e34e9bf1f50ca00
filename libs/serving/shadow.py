"""Shadow scoring: the shadow model sees every answered request, off the request path, and never answers.

API::

    shadow = ShadowScorer("agent2", LiveChampion(shadow_dir("agent2"), check=..., optional=True))
    shadow.submit(rows, logged_rows, outputs, champion, predict)   # on the request path: enqueue only
    shadow.close()

``submit`` puts the request on a bounded queue and returns; one daemon thread takes it off, scores
the rows with the shadow and logs the shadow's predictions. When no shadow is loaded nothing is
queued. The thread merges what queued up within ``gather_s`` of the first request into one batch:
a model's predict has a fixed cost per call (agent2's forecaster: 2.3 ms on one request's 28 rows,
3.0 ms on eight requests' 224), and ``libs.serving.shadow_scoring`` scores a batch in one call per
predict function, retrying request by request when a merged call raises. In a service
(``separate_process=True``) the batch is scored, and the shadow's log written, in a child process at
the lowest CPU priority (``libs.serving.shadow_child``): scored in the worker, under the interpreter
lock the answers are made under, the shadow cost them 23% of their p99 at concurrency 8
(bench/serving/shadow_cost.py).

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml

from libs.modelfiles.bundle import Champion
from libs.predictionlog.logger import PredictionLogger
from libs.serving.reload import LiveChampion, NoChampion
from libs.serving.shadow_child import ShadowChild, ShadowSource, Unavailable
from libs.serving.shadow_scoring import (
    CHAMPION_OUTPUT,
    CHAMPION_VERSION,
    SHADOW_LOG_SUFFIX,
    ShadowRequest,
    ShadowScoring,
    shadow_log_name,
)

__all__ = ["CHAMPION_OUTPUT", "CHAMPION_VERSION", "SHADOW_LOG_SUFFIX", "ShadowScorer", "shadow_log_name"]

log = logging.getLogger(__name__)

DEFAULT_QUEUE_REQUESTS = 256
# How long the thread lets requests gather before one merged predict, and how many rows one call takes.
DEFAULT_GATHER_S = 0.05
DEFAULT_BATCH_ROWS = 1024  # ~37 requests: pickling more at once holds the worker's interpreter lock longer

DROPPED = bentoml.metrics.Counter(
    name="shadow_scores_dropped",
    documentation="Rows the shadow model did not score (queue full, shadow failed); answers are unaffected.",
    labelnames=["agent", "reason"],
)


class ShadowScorer:
    """Scores the shadow (when one is loaded) on what the champion answered, off the request path."""

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
        """``separate_process``: score and log in a child process at the lowest CPU priority
        (``libs.serving.shadow_child``), not under the lock requests are answered under; services
        pass True. Without it, or once the child cannot be used, the shadow thread scores."""
        self.agent = agent
        self.live = live
        self.logger = PredictionLogger(
            shadow_log_name(agent), log_directory, separate_process=separate_process
        )
        self._scoring = ShadowScoring(agent, live, self.logger, self._drop)
        self._child = (
            ShadowChild(ShadowSource(agent, live.directory, live.check, self.logger.directory))
            if separate_process
            else None
        )
        if self._child is not None and live.ready:
            self._child.start()
        self._closing = False
        self._queue: queue.Queue[ShadowRequest | None] = queue.Queue(maxsize=max_queue)
        self.gather_s, self.batch_rows = gather_s, batch_rows
        self.dropped = {"queue_full": 0, "error": 0}
        self._lock = threading.Lock()
        self._child_scored = self._child_calls = 0
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

    @property
    def scored(self) -> int:
        """Rows the shadow has scored, wherever it scored them."""
        return self._scoring.scored + self._child_scored

    @property
    def calls(self) -> int:
        """Shadow predict calls made: fewer than requests scored when they merge."""
        return self._scoring.calls + self._child_calls

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
            item = ShadowRequest(
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
        in_child = self._child is None or self._child.flush(max(deadline - time.monotonic(), 0.1))
        return self.logger.flush(max(deadline - time.monotonic(), 0.1)) and in_child

    def close(self, timeout_s: float = 10.0) -> None:
        """Scores and writes what is queued, within ``timeout_s`` in all; what is left is dropped."""
        deadline = time.monotonic() + timeout_s
        self.flush(timeout_s / 2)
        self._closing = True
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=max(deadline - time.monotonic(), 0.1))
        if self._child is not None:
            self._child.close(max(deadline - time.monotonic(), 0.5))  # ends a batch it still scores
        self._thread.join(max(deadline - time.monotonic(), 0.5))
        self.live.close()
        self.logger.close(max(deadline - time.monotonic(), 0.5))

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch, stop = self._gather(first)
            try:
                self._score(batch)
            except Exception as error:  # the thread must outlive any batch: its rows are lost, counted
                log.warning("shadow %s: %d requests not scored: %s", self.agent, len(batch), error)
                self._drop("error", sum(len(item.rows) for item in batch))
            finally:
                for _ in range(len(batch) + stop):
                    self._queue.task_done()
            if stop:
                return

    def _gather(self, first: ShadowRequest) -> tuple[list[ShadowRequest], bool]:
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

    def _score(self, batch: list[ShadowRequest]) -> None:
        """In the child when there is one (the worker waits, its queue taking what arrives meanwhile)."""
        rows = sum(len(item.rows) for item in batch)
        child = self._child
        if child is not None and self._closing:  # the child is gone or going: nothing scores these
            self._drop("error", rows)
            return
        if child is None or not child.usable:
            self._scoring.score(batch)
            return
        try:
            outcome = child.score(batch)
        except Unavailable as error:
            # What the child was handed and neither wrote nor dropped (this batch's rows among them)
            # is lost with it: counted, never scored twice. The next batch starts a new child (or,
            # past its limit, the thread).
            log.warning("shadow %s: %d rows lost with the child process", self.agent, error.lost)
            self._child_scored += error.written_unreported
            self._drop("error", error.lost)
            return
        self._child_scored += outcome.scored - outcome.log_dropped  # rows its log could not keep...
        self._child_calls += outcome.calls
        outcome.dropped["error"] = outcome.dropped.get("error", 0) + outcome.log_dropped  # ...are dropped
        for reason, count in outcome.dropped.items():
            self._drop(reason, count)

    def _drop(self, reason: str, rows: int) -> None:
        with self._lock:
            self.dropped[reason] += rows
        self._count(reason, rows)

    def _count(self, reason: str, rows: int) -> None:
        try:
            DROPPED.labels(agent=self.agent, reason=reason).inc(rows)
        except Exception:  # metrics outside a BentoML server (in-process use) may not be set up
            log.debug("shadow %s: dropped count not exported", self.agent, exc_info=True)
