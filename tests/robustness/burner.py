"""A CPU burner: one busy process per core, so load tests run on a machine as busy as a user's."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager


def _spin() -> None:
    while True:
        pass


@contextmanager
def cpu_burner(processes: int | None = None) -> Iterator[int]:
    """Keeps ``processes`` (default: every core) busy until the block ends; yields their count."""
    count = processes or os.cpu_count() or 2
    context = multiprocessing.get_context("spawn")
    burners = [context.Process(target=_spin, daemon=True) for _ in range(count)]
    for burner in burners:
        burner.start()
    try:
        yield count
    finally:
        for burner in burners:
            burner.terminate()
        for burner in burners:
            burner.join(10)
