"""Prediction-log files written by a child process, off the interpreter lock requests are answered under."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from libs.predictionlog.records import PredictionBatch, write_batch
from libs.predictionlog.retention import Pruned, prune

log = logging.getLogger(__name__)

# How often the writer process checks that the service that started it is still there.
_PARENT_POLL_S = 1.0


class ShutDown(Exception):
    """The pool refused the batch: the interpreter is exiting, or the pool was shut down."""


class ChildProcessWriter:
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
            initializer=serve_parent,
            initargs=(os.getpid(),),
        )

    def write(self, agent_dir: Path, batch: Sequence[PredictionBatch]) -> bool:
        """True once the child wrote the batch; its own errors (a full disk) are raised here."""
        if self._pool is None:
            return False
        try:
            self._submit(agent_dir, batch).result()
        except (BrokenProcessPool, ShutDown) as error:
            log.warning(
                "prediction log %s: writer process unavailable (%s: %s); writing in process from now on",
                self.agent,
                type(error).__name__,
                error,
            )
            self.close()
            return False
        return True

    def prune(self, agent_dir: Path, *, now: float, keep_days: int, max_bytes: int) -> Pruned | None:
        """``retention.prune`` in the child (listing thousands of files holds an interpreter lock);
        None when the child cannot be used, for the caller to prune in process."""
        if self._pool is None:
            return None
        try:
            return self._pool.submit(
                prune, agent_dir, now=now, keep_days=keep_days, max_bytes=max_bytes
            ).result()
        except (BrokenProcessPool, RuntimeError):
            return None

    def _submit(self, agent_dir: Path, batch: Sequence[PredictionBatch]) -> Future[list[Path]]:
        assert self._pool is not None
        try:
            return self._pool.submit(write_batch, agent_dir, batch)
        except RuntimeError as error:  # "cannot schedule new futures after (interpreter) shutdown"
            raise ShutDown(str(error)) from error

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def serve_parent(parent: int) -> None:
    """In a child process (this writer's, and the shadow scorer's in ``libs.serving.shadow_child``).
    A server's stop signal reaches its whole process group, and the child must still finish what the
    stopping server hands it last, so it ignores the signal; it exits when the pool is shut down, or
    when ``parent`` is gone (killed, it never shuts the pool down)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_without, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_S)
    os._exit(0)
