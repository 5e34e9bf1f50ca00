from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from libs.warehouse import (
    atomic_write_parquet,
)


def _temporaries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    path = tmp_path / "out.parquet"
    atomic_write_parquet(pd.DataFrame({"old": [1, 2]}), path)
    return path


def test_parquet_round_trip_of_frame_and_table_without_index(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]}, index=[7, 8, 9])
    path = atomic_write_parquet(frame, tmp_path / "nested" / "frame.parquet")
    assert path == tmp_path / "nested" / "frame.parquet"
    assert pq.read_table(path).column_names == ["a", "b"]
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame.reset_index(drop=True))

    table = pa.table({"n": pa.array([1.5, None])})
    assert pq.read_table(atomic_write_parquet(table, tmp_path / "table.parquet")).equals(table)
    assert _temporaries(tmp_path) == []


def test_unconvertible_frame_leaves_old_file_and_no_temporaries(existing: Path) -> None:
    before = existing.read_bytes()
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        atomic_write_parquet(pd.DataFrame({"mixed": [1, "two", object()]}), existing)
    assert existing.read_bytes() == before
    assert _temporaries(existing.parent) == []


def test_writer_failing_midway_leaves_old_file_and_no_temporaries(
    existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = existing.read_bytes()

    def half_write(table: pa.Table, where: Any, **kwargs: Any) -> None:
        Path(where).write_bytes(b"PAR1 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", half_write)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_parquet(pd.DataFrame({"new": [3]}), existing)
    assert existing.read_bytes() == before
    assert _temporaries(existing.parent) == []
