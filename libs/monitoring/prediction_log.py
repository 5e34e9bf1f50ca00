"""Prediction logs: every answer a service gives, kept as gzipped JSON Lines for drift checks and retraining.

API::

    logger = PredictionLogger("agent2")            # dir: Settings().prediction_log_dir
    logger.log({"lag_1": 3.0, ...}, output=4.2, model_name="m", model_version="3", latency_ms=1.7)
    logger.log_batch(rows, outputs, model_name="m", model_version="3", latency_ms=12.0)
    logger.dropped                                  # records lost so far (queue full, write errors)
    logger.close()                                  # flushes what is queued (also run at exit)

Reading them back (DuckDB, for monitors and tests) is ``libs.monitoring.prediction_reader``: kept
apart so a service that only writes logs ships without DuckDB.

Logging must never cost a request its latency or its answer, so ``log`` only puts the record on a
bounded queue (never blocks, never raises) and a daemon thread writes batches. Losing a log record
is acceptable; slowing or failing a prediction is not: anything that goes wrong (full queue, full
disk, any write error) drops the records, adds them to ``dropped`` and logs one warning with the
count. Files are ``<dir>/<agent>/date=YYYY-MM-DD/part-<time>-<uuid>.jsonl.gz``, each written
atomically, so a reader never sees half a file and DuckDB prunes by date through the hive key.
The standard library writes them: a Parquet writer (pyarrow) would be the largest distribution in
every service image (about 170 MiB) for files that only DuckDB reads back.

Columns: ``timestamp`` (UTC), ``model_name``, ``model_version``, ``latency_ms``, ``output`` and one
``input_<feature>`` column per input feature (the prefix keeps features from colliding with the
fixed columns). Within a file a column holds numbers (as floats) or text, never both; a missing or
non-finite number is ``null``.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import json
import logging
import math
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from libs.atomicfiles import atomic_write_bytes
from libs.settings import Settings

log = logging.getLogger(__name__)

INPUT_PREFIX = "input_"
FIXED_COLUMNS = ("timestamp", "model_name", "model_version", "latency_ms", "output")
SUFFIX = ".jsonl.gz"
# A plain dict, or a pydantic request row: iterating a model yields its (field, value) pairs.
Inputs = Mapping[str, Any] | Iterable[tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    timestamp: datetime
    inputs: Mapping[str, Any]
    output: Any
    model_name: str
    model_version: str
    latency_ms: float


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
    ) -> None:
        if not agent or "/" in agent or agent.startswith("."):
            raise ValueError(f"agent must be a plain folder name, got {agent!r}")
        if max_queue < 1 or batch_size < 1 or flush_interval_s <= 0:
            raise ValueError("max_queue and batch_size must be >= 1 and flush_interval_s > 0")
        self.agent = agent
        self.directory = Path(directory or _default_directory())
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._queue: queue.Queue[PredictionRecord | None] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._dropped = 0
        self._reported = 0  # dropped records already named in a warning
        self._written = 0
        self._closed = threading.Event()
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
        try:
            record = PredictionRecord(
                timestamp=datetime.now(UTC) if timestamp is None else as_utc(timestamp),
                inputs=dict(inputs),
                output=output,
                model_name=str(model_name),
                model_version=str(model_version),
                latency_ms=float(latency_ms),
            )
            if self._closed.is_set():
                self._drop(1)
                return
            self._queue.put_nowait(record)
        except Exception:  # queue.Full, or inputs that are not a mapping: the caller must not notice
            self._drop(1)

    def log_batch(
        self,
        inputs: Sequence[Inputs],
        outputs: Sequence[Any],
        *,
        model_name: str,
        model_version: str,
        latency_ms: float,
    ) -> None:
        """One record per row of a batch request, all with the batch's latency and timestamp."""
        try:
            now = datetime.now(UTC)
            if len(inputs) != len(outputs):
                self._drop(max(len(inputs), len(outputs)))
                return
            for row, output in zip(inputs, outputs, strict=True):
                self.log(
                    row,
                    output,
                    model_name=model_name,
                    model_version=model_version,
                    latency_ms=latency_ms,
                    timestamp=now,
                )
        except Exception:
            self._drop(1)

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
                self._drop(1)

    def _drop(self, count: int) -> None:
        with self._lock:
            self._dropped += count

    def _run(self) -> None:
        batch: list[PredictionRecord] = []
        deadline = time.monotonic() + self.flush_interval_s
        next_report = 0.0
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            else:
                if item is None:  # a wake-up, not a record
                    self._queue.task_done()
            if item is not None:
                batch.append(item)
            due = item is None or len(batch) >= self.batch_size or time.monotonic() >= deadline
            if due:
                self._write(batch)
                batch = []
                deadline = time.monotonic() + self.flush_interval_s
                if time.monotonic() >= next_report:  # one warning per interval, however bad the overflow
                    self._report_drops()
                    next_report = time.monotonic() + self.flush_interval_s
            if self._closed.is_set() and self._queue.empty():
                self._write(batch)
                return

    def _write(self, batch: list[PredictionRecord]) -> None:
        if not batch:
            return
        try:
            write_batch(self.directory / self.agent, batch)
            self._written += len(batch)
        except Exception as error:  # a full disk or any other failure loses this batch, nothing more
            self._drop(len(batch))
            log.warning(
                "prediction log %s: could not write %d records (%s: %s); %d dropped in total",
                self.agent,
                len(batch),
                type(error).__name__,
                error,
                self._dropped,
            )
            with self._lock:
                self._reported = self._dropped
        finally:
            for _ in batch:
                self._queue.task_done()

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


def write_batch(agent_dir: Path, batch: Sequence[PredictionRecord]) -> list[Path]:
    """One file per UTC date in the batch, each published atomically."""
    by_date: dict[date, list[PredictionRecord]] = defaultdict(list)
    for record in batch:
        by_date[record.timestamp.astimezone(UTC).date()].append(record)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    paths = []
    for day, records in sorted(by_date.items()):
        path = agent_dir / f"date={day.isoformat()}" / f"part-{stamp}-{uuid.uuid4().hex}{SUFFIX}"
        lines = "".join(json.dumps(row, allow_nan=False) + "\n" for row in _rows(records))
        # Level 1: most of the size saving at a fraction of the default level's CPU.
        paths.append(atomic_write_bytes(gzip.compress(lines.encode(), compresslevel=1), path))
    return paths


def _rows(records: Sequence[PredictionRecord]) -> list[dict[str, Any]]:
    features = sorted({name for record in records for name in record.inputs})
    columns: dict[str, list[Any]] = {
        "timestamp": [r.timestamp.astimezone(UTC).isoformat() for r in records],
        "model_name": [r.model_name for r in records],
        "model_version": [r.model_version for r in records],
        "latency_ms": _column([r.latency_ms for r in records]),
        "output": _column([r.output for r in records]),
    }
    for name in features:
        columns[INPUT_PREFIX + name] = _column([r.inputs.get(name) for r in records])
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _column(values: list[Any]) -> list[float | str | None]:
    """Numbers (and booleans) as floats so files from different batches share one type; else text."""
    present = [value for value in values if value is not None]
    if all(isinstance(value, int | float) for value in present):
        return [None if value is None or not math.isfinite(value) else float(value) for value in values]
    return [None if value is None else str(value) for value in values]


def as_utc(moment: datetime | date) -> datetime:
    """A date as its midnight UTC, a naive datetime as UTC, an aware one converted."""
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _default_directory() -> Path:
    configured = Settings().prediction_log_dir
    assert configured is not None  # derived from home when unset
    return configured
