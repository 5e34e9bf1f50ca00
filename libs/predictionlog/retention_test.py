from __future__ import annotations

import os
from pathlib import Path

import pytest

from libs.predictionlog.retention import DAY_S, Pruned, prune

NOW = 1_800_000_000.0


def write(agent_dir: Path, day: str, name: str, size: int, *, age_days: float) -> Path:
    path = agent_dir / f"date={day}" / f"part-{name}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    written = NOW - age_days * DAY_S
    os.utime(path, (written, written))
    return path


def remaining(agent_dir: Path) -> list[str]:
    return sorted(str(path.relative_to(agent_dir)) for path in agent_dir.rglob("*.jsonl.gz"))


def test_files_written_before_the_window_go(tmp_path: Path) -> None:
    write(tmp_path, "2026-11-01", "a", 10, age_days=36)
    write(tmp_path, "2026-12-01", "b", 10, age_days=6)
    write(tmp_path, "2020-01-01", "replayed", 10, age_days=0)  # stamped in the past, written now
    assert prune(tmp_path, now=NOW, keep_days=7, max_bytes=1_000) == Pruned(files=1, bytes=10)
    assert remaining(tmp_path) == [
        "date=2020-01-01/part-replayed.jsonl.gz",
        "date=2026-12-01/part-b.jsonl.gz",
    ]


def test_over_the_size_the_oldest_files_go_first_and_the_newest_stay(tmp_path: Path) -> None:
    write(tmp_path, "2026-12-06", "first", 40, age_days=1)
    write(tmp_path, "2026-12-07", "second", 40, age_days=0.5)
    write(tmp_path, "2026-12-07", "third", 40, age_days=0)
    assert prune(tmp_path, now=NOW, keep_days=30, max_bytes=90) == Pruned(files=1, bytes=40)
    assert remaining(tmp_path) == [
        "date=2026-12-07/part-second.jsonl.gz",
        "date=2026-12-07/part-third.jsonl.gz",
    ]
    assert prune(tmp_path, now=NOW, keep_days=30, max_bytes=90) == Pruned()


def test_files_it_did_not_write_are_left_alone(tmp_path: Path) -> None:
    write(tmp_path, "2020-01-01", "old", 10, age_days=400)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.jsonl.gz").write_text("mine")
    (tmp_path / "date=2020-01-02").mkdir()
    (tmp_path / "date=2020-01-02" / "readme.txt").write_text("mine")
    assert prune(tmp_path, now=NOW, keep_days=1, max_bytes=0) == Pruned(files=1, bytes=10)
    assert (tmp_path / "notes" / "keep.jsonl.gz").exists() and (tmp_path / "date=2020-01-02").exists()


def test_a_missing_directory_and_bad_limits(tmp_path: Path) -> None:
    assert prune(tmp_path / "none", now=NOW, keep_days=1, max_bytes=0) == Pruned()
    with pytest.raises(ValueError, match="keep_days must be >= 1"):
        prune(tmp_path, now=NOW, keep_days=0, max_bytes=1)
