"""The shadow scored in a child process of its own, at the lowest CPU priority.

A shadow does as much work as the champion: in the worker's own process its predict calls and log
records run under the interpreter lock the answers are made under, and on agent2 at concurrency 8
that cost the answers 28% of their throughput and 23% of their p99 (bench/serving/shadow_cost.py).
Here the worker only pickles each gathered batch of requests (tens of microseconds a request) and
hands it to a child that holds its own copy of the shadow (loaded, checked and hot-reloaded from the
same bundle folder; the worker keeps its own to know whether there is a shadow), scores it with
``libs.serving.shadow_scoring`` and writes the shadow's log itself. The child runs at nice 19 and,
where the kernel has it, in the idle scheduling class (SCHED_IDLE), and predicts on one OpenMP and
BLAS thread, so on a busy machine the kernel gives the answers the CPU first; while the child lags,
the worker's bounded queue fills and the overflow is counted as dropped, which is what a shadow that
is slower than the traffic should cost. Requests cross as plain values (``ShadowRequest.__reduce__``),
pickled by the worker's shadow thread: the one part of the shadow's work left under the worker's
interpreter lock. The worker's side of the hand-off keeps the worker's priority: only the child is
lowered.

The child is spawned, not forked (a server process runs threads), at start when a shadow is loaded
and on first use otherwise, and lowers its own priority first thing; a service with no shadow never
starts one. A request that cannot be pickled costs only its own rows, a batch the child cannot
rebuild only that batch's. The child ignores the stop signal a server's process group gets and
exits when the worker shuts it down or is gone (``libs.predictionlog.child_writer.serve_parent``);
``close`` waits a bounded time, then kills it.
A child that dies is replaced, up to ``MAX_STARTS`` times; the rows it was handed and neither wrote
nor reported dropped are counted as dropped (``score`` raises ``Unavailable`` saying how many). Its
log tells the worker after each write how many rows reached the files, through a counter in shared
memory, so a killed child leaves each row counted once, written or lost (but for a kill in the instant
between a file's rename and its count; and a child killed by ``flush``'s or ``close``'s timeout, at
shutdown, is not settled). After that, or
if the shadow's check cannot cross to a child, ``usable`` is False and the caller scores in its own
thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

# scikit-learn's own dependency: locked in every agent resolve, not a top-level requirement, so not inferred
from threadpoolctl import threadpool_limits  # pants: no-infer-dep

from libs.modelfiles.bundle import Champion
from libs.predictionlog.child_writer import serve_parent
from libs.predictionlog.logger import PredictionLogger
from libs.serving.reload import LiveChampion
from libs.serving.shadow_scoring import ShadowRequest, ShadowScoring, shadow_log_name

log = logging.getLogger(__name__)

CHILD_NICENESS = 19
STOP_JOIN_S = 5.0  # the executor's thread, once the child is killed, finishes in milliseconds
MAX_STARTS = 3  # a child that keeps dying is not restarted forever

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scored:
    """One batch in the child: rows dropped by reason, rows scored, predict calls made, and rows its
    log dropped since the last batch (full queue, a failed write)."""

    dropped: dict[str, int]
    scored: int
    calls: int
    log_dropped: int


@dataclass(frozen=True, slots=True)
class ShadowSource:
    """Where the child finds the shadow and writes its log: all it needs to rebuild them itself."""

    agent: str
    directory: Path
    check: Callable[[Champion], None]
    log_directory: Path


class Unavailable(Exception):
    """The child cannot be used: it died, timed out, or the shadow's functions cannot reach it.
    ``lost``: rows it was handed (this batch's included) that its log neither wrote nor dropped;
    ``written_unreported``: rows its log wrote beyond those reported scored, which the caller counts
    as scored (negative when reported rows were still waiting for their write: those are in ``lost``)."""

    def __init__(self, reason: str, lost: int = 0, written_unreported: int = 0) -> None:
        super().__init__(reason)
        self.lost = lost
        self.written_unreported = written_unreported


class ShadowChild:
    """``ShadowScoring`` in one spawned child process at the lowest priority, started on demand."""

    def __init__(self, source: ShadowSource) -> None:
        self.agent = source.agent
        self._source = source
        self._pool: ProcessPoolExecutor | None = None
        self._starts = 0
        # The current child's rows: handed to it; reported dropped (scoring or log); reported scored
        # and kept by its log; written, as its log tells after each write.
        self._handed = self._reported_dropped = self._reported_scored = 0
        self._written: ctypes.c_longlong | None = None
        self.usable = _picklable(source)
        if not self.usable:
            log.warning("shadow %s: its check cannot be pickled; scoring in process", self.agent)

    @property
    def started(self) -> bool:
        return self._pool is not None

    def start(self) -> bool:
        """Spawns the child if there is none (and may be one); returns at once, True if one runs."""
        if self._pool is not None or not self.usable:
            return self._pool is not None
        if self._starts >= MAX_STARTS:
            self.usable = False
            log.warning("shadow %s: child process died %d times; scoring in process", self.agent, MAX_STARTS)
            return False
        self._starts += 1
        context = multiprocessing.get_context("spawn")
        written = context.RawValue(
            ctypes.c_longlong, 0
        )  # one writer (the child's log thread), read after death
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=_start,
            initargs=(os.getpid(), self._source, written),
        )
        # The first submit spawns the process and starts the executor's two threads in this worker
        # (the one that pickles calls, the one that unpickles results). Those run under the lock the
        # answers are made under, so they keep this thread's priority: an idle-class thread holding
        # that lock while the kernel runs everything else would stall every answer. The child
        # lowers its own priority as it starts (``_start``).
        with contextlib.suppress(Exception):  # a failed start shows on the first real call
            pool.submit(_loaded)
        self._pool, self._written = pool, written
        self._handed = self._reported_dropped = self._reported_scored = 0
        return True

    def score(self, batch: Sequence[ShadowRequest]) -> Scored:
        """Waits for the child to score ``batch``; raises ``Unavailable`` when it cannot."""
        if not self.start():
            raise Unavailable("no child process", lost=_rows(batch))
        # Pickled here, not by the executor: a request that cannot cross costs its own rows, never
        # the child (the executor reports a pickling error as a broken pool) nor the batch.
        payload, rows, lost = self._pickled(batch)
        if payload is None:
            return Scored({"error": lost}, scored=0, calls=0, log_dropped=0)
        self._handed += rows
        try:
            outcome = self._call(_score, payload, rows, timeout_s=None)
        except Unavailable as error:
            settled, unreported = self._settle_lost()
            raise Unavailable(str(error), settled + lost, unreported) from error  # lost: never crossed
        self._reported_dropped += sum(outcome.dropped.values()) + outcome.log_dropped
        self._reported_scored += outcome.scored - outcome.log_dropped
        if lost:
            outcome.dropped["error"] = outcome.dropped.get("error", 0) + lost
        return outcome

    def _settle_lost(self) -> tuple[int, int]:
        """(rows lost with the child just stopped, rows it wrote beyond those reported scored)."""
        written = self._written.value if self._written is not None else 0
        lost = max(self._handed - written - self._reported_dropped, 0)
        unreported = written - self._reported_scored
        self._handed = self._reported_dropped = self._reported_scored = 0
        return lost, unreported

    def _pickled(self, batch: Sequence[ShadowRequest]) -> tuple[bytes | None, int, int]:
        """(the picklable requests of ``batch``, pickled, or None if there are none; their rows; the
        rows of those that are not)."""
        try:
            return pickle.dumps(list(batch), protocol=pickle.HIGHEST_PROTOCOL), _rows(batch), 0
        except Exception:  # find the request (or requests) at fault; the rest still cross
            crossing = [item for item in batch if _picklable(item)]
        lost = _rows(batch) - _rows(crossing)
        log.warning("shadow %s: %d rows cannot reach the child (not picklable)", self.agent, lost)
        if not crossing:
            return None, 0, lost
        return pickle.dumps(crossing, protocol=pickle.HIGHEST_PROTOCOL), _rows(crossing), lost

    def flush(self, timeout_s: float) -> bool:
        """True once the child has written every shadow record it was handed (at once if none runs)."""
        if self._pool is None:
            return True
        try:
            return self._call(_flush, timeout_s, timeout_s=timeout_s + 1.0)
        except Unavailable:
            return False

    def close(self, timeout_s: float) -> None:
        """Has the child write what it holds and exit, within ``timeout_s``; then kills it."""
        if self._pool is None:
            return
        self.usable = False  # no new child after this
        with contextlib.suppress(Unavailable):
            self._call(_close, timeout_s=timeout_s)
        self.stop()

    def stop(self) -> None:
        """Ends the child now, whatever it is doing (it ignores the stop signal, so it is killed)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = dict(getattr(pool, "_processes", None) or {})
        manager = getattr(pool, "_executor_manager_thread", None)  # shutdown forgets it
        pool.shutdown(wait=False, cancel_futures=True)
        for pid in processes:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        # The executor's own thread sees the child gone and drops its queues: joined, their
        # semaphores are released now, not reported leaked by Python's resource tracker at exit.
        if manager is not None and manager is not threading.current_thread():
            manager.join(STOP_JOIN_S)

    def _call(self, function: Callable[..., T], *args: object, timeout_s: float | None) -> T:
        if self._pool is None:
            raise Unavailable("no child process")
        try:
            return self._pool.submit(function, *args).result(timeout=timeout_s)
        except Exception as error:  # died, timed out, interpreter exiting, a batch that cannot cross
            log.warning("shadow %s: child process unusable (%s: %s)", self.agent, type(error).__name__, error)
            self.stop()
            raise Unavailable(str(error)) from error


def _picklable(value: object) -> bool:
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    return True


def _rows(batch: Sequence[ShadowRequest]) -> int:
    return sum(len(item.rows) for item in batch)


def _lowest_priority() -> None:
    """Makes the calling thread the kernel's last choice: nice 19, and SCHED_IDLE where the kernel
    has it (it runs only on a core nothing else wants); threads it starts later inherit both.
    Neither needs privilege, and a failure only leaves the default."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHILD_NICENESS)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _one_native_thread() -> None:
    """One OpenMP and BLAS thread for the calling thread, where predictions run: the worker's share of
    the cores (libs.serving.threads) is sized for the answers, and a background scorer's parallel
    regions would only contend with them. Again after a reload: a new shadow may load libraries."""
    threadpool_limits(limits=1)


# In the child: one scorer, built by the initializer from the worker's ShadowSource.
_scoring: ShadowScoring | None = None
_dropped: Counter[str] = Counter()
_log_dropped_reported = 0


def _start(parent: int, source: ShadowSource, written: ctypes.c_longlong) -> None:
    global _scoring
    _lowest_priority()  # first: the threads started below inherit it
    serve_parent(parent)
    # No watcher thread: each batch first looks at the bundle (one stat), so the child scores with
    # the bundle as it is when the batch arrives, never a stale one the worker has already replaced.
    live = LiveChampion(source.directory, check=source.check, interval_s=0, role="shadow", optional=True)

    def tell_parent(total: int) -> None:
        written.value = total

    logger = PredictionLogger(shadow_log_name(source.agent), source.log_directory, on_written=tell_parent)
    _scoring = ShadowScoring(source.agent, live, logger, _count_drop)
    _one_native_thread()


def _count_drop(reason: str, rows: int) -> None:
    _dropped[reason] += rows


def _loaded() -> bool:
    return _scoring is not None


def _score(payload: bytes, rows: int) -> Scored:
    global _log_dropped_reported
    assert _scoring is not None
    scored, calls = _scoring.scored, _scoring.calls
    _dropped.clear()
    try:
        if _scoring.live.reload_if_changed():
            _one_native_thread()
    except Exception:  # a bundle that cannot be read: the scorer finds no shadow and counts the rows
        log.warning("shadow %s: bundle not reloaded", _scoring.agent, exc_info=True)
    try:
        batch: list[ShadowRequest] = pickle.loads(payload)  # noqa: S301  the worker's own batch
    except Exception as error:  # a batch the child cannot rebuild costs its own rows
        log.warning("shadow %s: %d rows not rebuilt: %s", _scoring.agent, rows, type(error).__name__)
        _dropped["error"] += rows
        batch = []
    if batch:
        _scoring.score(batch)
    log_dropped, _log_dropped_reported = (
        _scoring.logger.dropped - _log_dropped_reported,
        _scoring.logger.dropped,
    )
    return Scored(dict(_dropped), _scoring.scored - scored, _scoring.calls - calls, log_dropped)


def _flush(timeout_s: float) -> bool:
    assert _scoring is not None
    return _scoring.logger.flush(timeout_s)


def _close() -> None:
    if _scoring is not None:
        _scoring.live.close()
        _scoring.logger.close()
