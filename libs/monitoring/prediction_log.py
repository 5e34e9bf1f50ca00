"""Prediction logs: every answer a service gives, kept as gzipped JSON Lines for drift checks and retraining.

API::

    logger = PredictionLogger("agent2")            # dir: Settings().prediction_log_dir
    logger.log({"lag_1": 3.0, ...}, output=4.2, model_name="m", model_version="3", latency_ms=1.7)
    logger.log_batch(rows, outputs, model_name="m", model_version="3", latency_ms=12.0)
    logger.dropped                                  # records lost so far (queue full, write errors)
    logger.close()                                  # flushes what is queued (also run at exit)

Reading them back (DuckDB, for monitors and tests) is ``libs.monitoring.prediction_reader``: kept
apart so a service that only writes logs ships without DuckDB.

Logging must never cost a request its latency or its answer, so ``log`` and ``log_batch`` only put
the request's rows on a bounded queue, as one item (never blocks, never raises), and a daemon thread
turns them into records and writes them in batches. One item per request, not per row: per-row records
and queue hand-offs cost a 28-row forecast about 0.27 ms on the request path, one item 0.08 ms
(measured with the writer busy). Losing a log record
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
import multiprocessing
import os
import queue
import signal
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
# How often the writer process checks that the service that started it is still there.
_PARENT_POLL_S = 1.0
# One encoder for every line: json.dumps(..., allow_nan=False) would build a new one per call.
_JSON = json.JSONEncoder(allow_nan=False)


@dataclass(frozen=True, slots=True)
class PredictionBatch:
    """The rows one request was answered for, with what they share: when, which model, how fast."""

    timestamp: datetime
    inputs: Sequence[Mapping[str, Any]]
    outputs: Sequence[Any]
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
        separate_process: bool = False,
    ) -> None:
        """``separate_process``: encode and write files in a child process (what services use), so
        the work holds the child's interpreter lock, not the one requests are answered under."""
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
        self._closed = threading.Event()
        self._files = _ChildProcessWriter(agent) if separate_process else None
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
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            else:
                if item is None:  # a wake-up, not a record
                    self._queue.task_done()
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

    def _write(self, batch: list[PredictionBatch]) -> None:
        if not batch:
            return
        rows = sum(len(item.outputs) for item in batch)
        try:
            if self._files is None or not self._files.write(self.directory / self.agent, batch):
                write_batch(self.directory / self.agent, batch)
            self._written += rows
        except Exception as error:  # a full disk or any other failure loses this batch, nothing more
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


class _ShutDown(Exception):
    """The pool refused the batch: the interpreter is exiting, or the pool was shut down."""


class _ChildProcessWriter:
    """``write_batch`` run in one child process, started on first use.

    Encoding a batch is Python work (about 10 us a row); done in the service's own process it competes
    with requests for the interpreter lock, and at concurrency 8 it cost agent2 a fifth of its
    throughput and a third of its p99 (bench/serving). Handing the child a batch costs a pickle of its
    rows. The child is spawned, not forked: a server process runs threads, and forking it is unsafe.
    If the child cannot be used (killed, or the interpreter is shutting down), ``write`` returns False
    and the logger writes in its own thread from then on.
    """

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_serve_parent,
            initargs=(os.getpid(),),
        )

    def write(self, agent_dir: Path, batch: Sequence[PredictionBatch]) -> bool:
        """True once the child wrote the batch; its own errors (a full disk) are raised here."""
        if self._pool is None:
            return False
        try:
            self._submit(agent_dir, batch).result()
        except (BrokenProcessPool, _ShutDown) as error:
            log.warning(
                "prediction log %s: writer process unavailable (%s: %s); writing in process from now on",
                self.agent,
                type(error).__name__,
                error,
            )
            self.close()
            return False
        return True

    def _submit(self, agent_dir: Path, batch: Sequence[PredictionBatch]) -> Future[list[Path]]:
        assert self._pool is not None
        try:
            return self._pool.submit(write_batch, agent_dir, batch)
        except RuntimeError as error:  # "cannot schedule new futures after (interpreter) shutdown"
            raise _ShutDown(str(error)) from error

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _serve_parent(parent: int) -> None:
    """In the child. A server's stop signal reaches its whole process group, and the child must still
    write what the stopping server hands it last, so it ignores the signal; it exits when the pool is
    shut down, or when ``parent`` is gone (killed, it never shuts the pool down)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_without, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_S)
    os._exit(0)


def write_batch(agent_dir: Path, batch: Sequence[PredictionBatch]) -> list[Path]:
    """One file per UTC date in the batch, each published atomically."""
    by_date: dict[date, list[PredictionBatch]] = defaultdict(list)
    for item in batch:
        by_date[item.timestamp.astimezone(UTC).date()].append(item)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    paths = []
    for day, items in sorted(by_date.items()):
        path = agent_dir / f"date={day.isoformat()}" / f"part-{stamp}-{uuid.uuid4().hex}{SUFFIX}"
        lines = "".join(_JSON.encode(row) + "\n" for row in _rows(items))
        # Level 1: most of the size saving at a fraction of the default level's CPU.
        paths.append(atomic_write_bytes(gzip.compress(lines.encode(), compresslevel=1), path))
    return paths


def _rows(items: Sequence[PredictionBatch]) -> list[dict[str, Any]]:
    """Column by column, then zipped into rows: what a batch shares is converted once, not per row."""
    features = sorted({name for item in items for row in item.inputs for name in row})
    columns: dict[str, list[Any]] = {
        "timestamp": _repeated(items, lambda item: item.timestamp.astimezone(UTC).isoformat()),
        "model_name": _repeated(items, lambda item: item.model_name),
        "model_version": _repeated(items, lambda item: item.model_version),
        "latency_ms": _column(_repeated(items, lambda item: item.latency_ms)),
        "output": _column([output for item in items for output in item.outputs]),
    }
    for name in features:
        columns[INPUT_PREFIX + name] = _column([row.get(name) for item in items for row in item.inputs])
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _repeated(items: Sequence[PredictionBatch], value: Callable[[PredictionBatch], Any]) -> list[Any]:
    """One value per item, repeated for each of its rows."""
    return [shared for item in items for shared in [value(item)] * len(item.outputs)]


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
