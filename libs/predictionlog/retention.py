"""Keeps an agent's prediction log inside an age and a size: the disk is not the traffic's to fill.

Anyone who can reach a service can make it log (about 70 bytes a row, gzipped); unbounded, a flood
of valid requests fills the disk the service, MLflow and DVC share. Files written more than
``keep_days`` ago go first, then the oldest files until the log fits ``max_bytes``, so the newest
traffic, what drift checks read, is kept. Age is the file's write time, not its ``date=``
partition: records stamped in the past (a backfill, a replay in a test) are not removed the moment
they are written. Every worker's writer prunes the same directory; a file another one removed first
is skipped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from libs.predictionlog.records import SUFFIX

PARTITION_PREFIX = "date="
DAY_S = 86_400


@dataclass(frozen=True)
class Pruned:
    files: int = 0
    bytes: int = 0


def _log_files(agent_dir: Path) -> list[tuple[float, Path, int]]:
    """(write time, path, size) of every log file under a ``date=`` partition, oldest first."""
    found: list[tuple[float, Path, int]] = []
    if not agent_dir.is_dir():
        return found
    for partition in agent_dir.iterdir():
        if not partition.name.startswith(PARTITION_PREFIX) or not partition.is_dir():
            continue
        for path in partition.iterdir():
            if path.name.endswith(SUFFIX):
                with contextlib.suppress(FileNotFoundError):
                    status = path.stat()
                    found.append((status.st_mtime, path, status.st_size))
    return sorted(found, key=lambda entry: (entry[0], entry[1].name))


def _remove(path: Path) -> bool:
    """The file only: an emptied ``date=`` folder stays, since another worker may be about to write
    into it (removing it under that writer would lose its batch); an empty folder costs nothing."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def prune(agent_dir: Path, *, now: float, keep_days: int, max_bytes: int) -> Pruned:
    """Removes files written before ``now - keep_days`` days, then the oldest beyond ``max_bytes``."""
    if keep_days < 1 or max_bytes < 0:
        raise ValueError(f"keep_days must be >= 1 and max_bytes >= 0, got {keep_days} and {max_bytes}")
    oldest_kept = now - keep_days * DAY_S
    files = _log_files(agent_dir)
    total = sum(size for *_, size in files)
    removed = Pruned()
    for written, path, size in files:
        if written >= oldest_kept and total <= max_bytes:
            break
        total -= size
        if _remove(path):
            removed = Pruned(removed.files + 1, removed.bytes + size)
    return removed
