"""The shadow scored in a child process of its own, at the lowest CPU priority.

A shadow does as much work as the champion: in the worker's own process its predict calls and log
records run under the interpreter lock the answers are made under, and on agent2 at concurrency 8
that cost the answers 28% of their throughput and 23% of their p99 (bench/serving/shadow_cost.py).
Here the worker only pickles each gathered batch of requests (tens of microseconds a request) and
hands it to a child that holds its own copy of the shadow (loaded, checked and hot-reloaded from the
same bundle folder; the worker keeps its own to know whether there is a shadow), scores it with
``libs.serving.shadow_scoring`` and writes the shadow's log itself. The child runs at nice 19, so
on a busy machine the kernel gives the answers the CPU first; while the child lags, the worker's
bounded queue fills and the overflow is counted as dropped, which is what a shadow that is slower
than the traffic should cost.

The child is spawned, not forked (a server process runs threads), at start when a shadow is loaded
and on first use otherwise; it ignores the stop
signal a server's process group gets and exits when the worker shuts it down or is gone
(``libs.predictionlog.child_writer.serve_parent``). If it cannot be used, ``score`` returns None and
the caller scores in its own thread from then on.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from libs.modelfiles.bundle import Champion
from libs.predictionlog.child_writer import serve_parent
from libs.predictionlog.logger import PredictionLogger
from libs.serving.reload import LiveChampion
from libs.serving.shadow_scoring import ShadowRequest, ShadowScoring, shadow_log_name

log = logging.getLogger(__name__)

CHILD_NICENESS = 19

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scored:
    """What one batch came to in the child: rows dropped by reason, rows scored, predict calls made."""

    dropped: dict[str, int]
    scored: int
    calls: int


@dataclass(frozen=True, slots=True)
class ShadowSource:
    """Where the child finds the shadow and writes its log: all it needs to rebuild them itself."""

    agent: str
    directory: Path
    check: Callable[[Champion], None]
    log_directory: Path


class ShadowChild:
    """``ShadowScoring`` in one spawned child process, started on first use."""

    def __init__(self, source: ShadowSource) -> None:
        self.agent = source.agent
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(os.getpid(), source),
        )

    def start(self) -> None:
        """Spawns the child now, without waiting for it: a service that starts with a shadow has it
        loaded before the first answers, rather than dropping them while the child starts."""
        if self._pool is not None:
            with contextlib.suppress(RuntimeError):  # the interpreter is exiting: nothing to start
                self._pool.submit(_loaded)

    def score(self, batch: Sequence[ShadowRequest]) -> Scored | None:
        """Waits for the child to score ``batch``; None if the child cannot be used (then or from now)."""
        return self._call(_score, list(batch))

    def flush(self, timeout_s: float) -> bool:
        """True once the child has written every shadow record it was handed."""
        return bool(self._call(_flush, timeout_s))

    def close(self) -> None:
        self._call(_close)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _call(self, function: Callable[..., T], *args: object) -> T | None:
        if self._pool is None:
            return None
        try:
            return self._pool.submit(function, *args).result()
        except (BrokenProcessPool, RuntimeError) as error:  # killed; or the interpreter is exiting
            log.warning(
                "shadow %s: child process unavailable (%s: %s); scoring in process from now on",
                self.agent,
                type(error).__name__,
                error,
            )
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            return None


# In the child: one scorer, built by the initializer from the worker's ShadowSource.
_scoring: ShadowScoring | None = None
_dropped: Counter[str] = Counter()


def _start(parent: int, source: ShadowSource) -> None:
    global _scoring
    serve_parent(parent)
    with contextlib.suppress(OSError):  # raising one's own niceness needs no privilege; refused, run as is
        os.nice(CHILD_NICENESS)
    # No watcher thread: each batch first looks at the bundle (one stat), so the child scores with
    # the bundle as it is when the batch arrives, never a stale one the worker has already replaced.
    live = LiveChampion(source.directory, check=source.check, interval_s=0, role="shadow", optional=True)
    logger = PredictionLogger(shadow_log_name(source.agent), source.log_directory)
    _scoring = ShadowScoring(source.agent, live, logger, _count_drop)


def _count_drop(reason: str, rows: int) -> None:
    _dropped[reason] += rows


def _score(batch: list[ShadowRequest]) -> Scored:
    assert _scoring is not None
    scored, calls = _scoring.scored, _scoring.calls
    _dropped.clear()
    try:
        _scoring.live.reload_if_changed()
    except Exception:  # a bundle that cannot be read: the scorer finds no shadow and counts the rows
        log.warning("shadow %s: bundle not reloaded", _scoring.agent, exc_info=True)
    _scoring.score(batch)
    return Scored(dict(_dropped), _scoring.scored - scored, _scoring.calls - calls)


def _loaded() -> bool:
    return _scoring is not None


def _flush(timeout_s: float) -> bool:
    assert _scoring is not None
    return _scoring.logger.flush(timeout_s)


def _close() -> None:
    if _scoring is not None:
        _scoring.live.close()
        _scoring.logger.close()
