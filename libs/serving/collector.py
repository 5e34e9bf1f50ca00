"""Garbage-collector settings for a serving process, so no collection walks the whole heap mid-request.

A service's heap after start-up is large and lives as long as the process: the champion, numpy,
scikit-learn, BentoML and pydantic's schemas, about 200,000 tracked objects. Under CPython's
default thresholds every full collection walks all of them. On agent2 that was a 145 ms pause every
second or two under load, which set the p99 latency at every concurrency (bench/serving).

``settle_heap()`` runs once a service has loaded its champion: it moves everything alive into the
permanent generation (``gc.freeze``), which later collections skip, and raises the first
generation's threshold so collections come less often, each walking only what requests left behind.
Frozen objects are still freed when their reference count drops to zero, so a model replaced by a
hot reload is released like any other. Only a frozen object that sits in a reference cycle is kept.
"""

from __future__ import annotations

import gc

# Allocations (net of frees) between young collections; CPython's default is 700.
YOUNG_THRESHOLD = 10_000
# Young collections per middle one, and middle ones per full one (CPython's defaults).
OLDER_THRESHOLDS = (10, 10)


def settle_heap() -> None:
    """Collects what start-up left behind, freezes the rest and sets serving thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
