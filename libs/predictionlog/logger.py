"""Prediction logs: every answer a service gives, kept as gzipped JSON Lines for drift checks and retraining.

API::

    logger = PredictionLogger("agent2")            # dir: Settings().prediction_log_dir
    logger.log({"lag_1": 3.0, ...}, output=4.2, model_name="m", model_version="3", latency_ms=1.7)
    logger.log_batch(rows, outputs, model_name="m", model_version="3", latency_ms=12.0)
    logger.dropped                                  # records lost so far (queue full, write errors)
    logger.close()                                  # flushes what is queued (also run at exit)

The file format is ``libs.predictionlog.records``; reading files back (DuckDB, for monitors and
tests) is ``libs.monitoring.prediction_reader``, kept apart so a service ships without DuckDB.

Logging must never cost a request its latency or its answer, so ``log`` and ``log_batch`` only put
the request's rows on a bounded queue, as one item (never blocks, never raises), and a daemon thread
turns them into records and writes them in batches. One item per request, not per row: per-row records
and queue hand-offs cost a 28-row forecast about 0.27 ms on the request path, one item 0.08 ms
(measured with the writer busy). Losing a log record
is acceptable; slowing or failing a prediction is not: anything that goes wrong (full queue, full
disk, any write error) drops the records, adds them to ``dropped`` and logs one warning with the
count.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from libs.predictionlog.child_writer import ChildProcessWriter
from libs.predictionlog.records import Inputs, PredictionBatch, as_utc, write_batch
from libs.predictionlog.retention import prune
from libs.settings import Settings

log = logging.getLogger(__name__)

# How long the writer thread sleeps, once it holds records for a write, before it looks for more. A
# thread blocked on the queue is woken by each request's item, and each wake-up takes the interpreter
# lock from the requests being answered; after a sleep it takes what queued up meanwhile in one go
# (about 20 requests' items at 1,000 requests a second).
GATHER_S = 0.02


class PredictionLogger:
    """Logs predictions off the request path; one per service process, closed on shutdown."""

    def __init__(
        self,
        agent: str,
        directory: Path | None = None,
        *,
        max_queue: int = 10_000,
        batch_size: int = 1_000,
        flush_interval_s: float = 5.0,
        separate_process: bool = False,
        on_written: Callable[[int], None] | None = None,
        keep_days: int | None = None,
        max_bytes: int | None = None,
        prune_interval_s: float = 60.0,
    ) -> None:
        """``separate_process``: encode and write files in a child process (what services use), so
        the work holds the child's interpreter lock, not the one requests are answered under.
        ``on_written``: called from the writer thread with the rows written so far, after each write,
        so a process that can be killed at any moment keeps its parent told what reached the files.
        ``keep_days``, ``max_bytes``: the log's retention (``libs.predictionlog.retention``, default
        the settings' ``prediction_log_keep_days`` and ``prediction_log_max_mib``), applied at most
        every ``prune_interval_s`` after a write."""
        if not agent or "/" in agent or agent.startswith("."):
            raise ValueError(f"agent must be a plain folder name, got {agent!r}")
        if max_queue < 1 or batch_size < 1 or flush_interval_s <= 0:
            raise ValueError("max_queue and batch_size must be >= 1 and flush_interval_s > 0")
        self.agent = agent
        self.directory = Path(directory or _default_directory())
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_queue = max_queue  # in rows: the queue itself holds requests of any size
        self._queue: queue.Queue[PredictionBatch | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued_rows = 0
        self._dropped = 0
        self._reported = 0  # dropped records already named in a warning
        self._written = 0
        self._on_written = on_written
        self._closed = threading.Event()
        self._files = ChildProcessWriter(agent) if separate_process else None
        if keep_days is None or max_bytes is None:
            settings = Settings()
            keep_days = settings.prediction_log_keep_days if keep_days is None else keep_days
            max_bytes = settings.prediction_log_max_mib * 2**20 if max_bytes is None else max_bytes
        if keep_days < 1 or max_bytes < 0:
            raise ValueError(f"keep_days must be >= 1 and max_bytes >= 0, got {keep_days} and {max_bytes}")
        self.keep_days, self.max_bytes = keep_days, max_bytes
        self.prune_interval_s = prune_interval_s
        self._next_prune = 0.0
        self._thread = threading.Thread(target=self._run, name=f"prediction-log-{agent}", daemon=True)
        self._thread.start()
        atexit.register(self.close, 5.0)  # a daemon thread dies with the process; flush first

    @property
    def dropped(self) -> int:
        """Records lost so far; services can export it as a counter on /metrics."""
        return self._dropped

    @property
    def written(self) -> int:
        return self._written

    def log(
        self,
        inputs: Inputs,
        output: Any,
        *,
        model_name: str,
        model_version: str,
        latency_ms: float,
        timestamp: datetime | None = None,
    ) -> None:
        """Queues one prediction; returns at once and never raises, whatever happens.

        ``timestamp`` defaults to now; a naive one is taken as UTC.
        """
        self.log_batch(
            [inputs],
            [output],
            model_name=model_name,
            model_version=model_version,
            latency_ms=latency_ms,
            timestamp=timestamp,
        )

    def log_batch(
        self,
        inputs: Sequence[Inputs],
        outputs: Sequence[Any],
        *,
        model_name: str,
        model_version: str,
        latency_ms: float,
        timestamp: datetime | None = None,
    ) -> None:
        """One record per row of a batch request, sharing its latency and timestamp (as in ``log``)."""
        count = 1  # what an argument without a length costs
        try:
            count = max(len(inputs), len(outputs))
            if count == 0:
                return
            if len(inputs) != len(outputs):
                raise ValueError(f"{len(inputs)} input rows for {len(outputs)} outputs")
            item = PredictionBatch(
                timestamp=datetime.now(UTC) if timestamp is None else as_utc(timestamp),
                inputs=[dict(row) for row in inputs],  # a copy: the caller may reuse its rows
                outputs=list(outputs),
                model_name=str(model_name),
                model_version=str(model_version),
                latency_ms=float(latency_ms),
            )
            with self._lock:
                if self._closed.is_set() or self._queued_rows + count > self.max_queue:
                    self._dropped += count
                    return
                self._queued_rows += count
            self._queue.put_nowait(item)
        except Exception:  # rows that are not mappings, a bad latency: the caller must not notice
            self._drop(count)

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Waits until everything queued so far is written or dropped; True if it got there in time."""
        deadline = time.monotonic() + timeout_s
        self._wake()
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Writes what is queued and stops the writer; later ``log`` calls count as dropped."""
        self._closed.set()
        self._wake()
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self._drop_leftovers()
            if self._files is not None:
                self._files.close()
        self._report_drops()

    def __enter__(self) -> PredictionLogger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _wake(self) -> None:
        """A ``None`` on the queue ends the writer's wait at once; if the queue is full it is awake anyway."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def _drop_leftovers(self) -> None:
        """Records a racing ``log`` queued after the writer's last look: counted, never silently lost."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            self._queue.task_done()
            if item is not None:
                self._taken(item)
                self._drop(len(item.outputs))

    def _drop(self, count: int) -> None:
        with self._lock:
            self._dropped += count

    def _taken(self, item: PredictionBatch) -> None:
        """Off the queue, so its rows no longer count against ``max_queue``."""
        with self._lock:
            self._queued_rows -= len(item.outputs)

    def _run(self) -> None:
        batch: list[PredictionBatch] = []
        rows = 0
        deadline = time.monotonic() + self.flush_interval_s
        next_report = 0.0
        while True:
            item = self._next_item(deadline, gather=bool(batch))
            if item is not None:
                self._taken(item)
                batch.append(item)
                rows += len(item.outputs)
            due = item is None or rows >= self.batch_size or time.monotonic() >= deadline
            if due:
                self._write(batch)
                batch, rows = [], 0
                deadline = time.monotonic() + self.flush_interval_s
                if time.monotonic() >= next_report:  # one warning per interval, however bad the overflow
                    self._report_drops()
                    next_report = time.monotonic() + self.flush_interval_s
            if self._closed.is_set() and self._queue.empty():
                self._write(batch)
                return

    def _next_item(self, deadline: float, *, gather: bool) -> PredictionBatch | None:
        """The next record, waiting until ``deadline`` at most; None for a wake-up or no record in time.
        ``gather``: records wait for a write, so sleep ``GATHER_S`` before waiting on an empty queue."""
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            if gather:
                time.sleep(max(0.0, min(GATHER_S, deadline - time.monotonic())))
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
        if item is None:  # a wake-up, not a record
            self._queue.task_done()
        return item

    def _write(self, batch: list[PredictionBatch]) -> None:
        if not batch:
            return
        rows = sum(len(item.outputs) for item in batch)
        try:
            if self._files is None or not self._files.write(self.directory / self.agent, batch):
                write_batch(self.directory / self.agent, batch)
        except Exception as error:  # a full disk or any other failure loses this batch, nothing more
            self._prune_when_due()  # a full disk is when old files most need to go
            self._drop(rows)
            log.warning(
                "prediction log %s: could not write %d records (%s: %s); %d dropped in total",
                self.agent,
                rows,
                type(error).__name__,
                error,
                self._dropped,
            )
            with self._lock:
                self._reported = self._dropped
        else:
            self._written += rows
            self._prune_when_due()
            if self._on_written is not None:
                try:
                    self._on_written(self._written)
                except Exception:  # the writer thread must outlive its listener
                    log.warning("prediction log %s: written count not reported", self.agent, exc_info=True)
        finally:
            for _ in batch:
                self._queue.task_done()

    def _prune_when_due(self) -> None:
        """Retention, off the request path (this writer thread, or its child); never fails a write."""
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + self.prune_interval_s
        agent_dir, now = self.directory / self.agent, time.time()
        try:
            pruned = None
            if self._files is not None:
                pruned = self._files.prune(
                    agent_dir, now=now, keep_days=self.keep_days, max_bytes=self.max_bytes
                )
            if pruned is None:
                pruned = prune(agent_dir, now=now, keep_days=self.keep_days, max_bytes=self.max_bytes)
        except Exception as error:  # the writer thread must outlive its housekeeping
            log.warning(
                "prediction log %s: retention not applied (%s: %s)", self.agent, type(error).__name__, error
            )
            return
        if pruned.files:
            log.info(
                "prediction log %s: removed %d files (%.1f MiB) beyond %d days or %.0f MiB",
                self.agent,
                pruned.files,
                pruned.bytes / 2**20,
                self.keep_days,
                self.max_bytes / 2**20,
            )

    def _report_drops(self) -> None:
        with self._lock:
            new, self._reported = self._dropped - self._reported, self._dropped
        if new:
            log.warning(
                "prediction log %s: dropped %d records (queue full or logger closed); %d dropped in total",
                self.agent,
                new,
                self._dropped,
            )


def _default_directory() -> Path:
    configured = Settings().prediction_log_dir
    assert configured is not None  # derived from home when unset
    return configured
