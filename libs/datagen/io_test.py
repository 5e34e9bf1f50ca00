from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from libs.datagen import TABLE_FILES, WorldConfig, generate_world, write_world

TINY = WorldConfig(n_transactions=2_000, n_customers=60, n_days=60)


def test_writes_five_parquet_files_that_read_back_equal(tmp_path: Path) -> None:
    world = generate_world(TINY)
    paths = write_world(world, tmp_path / "raw")
    assert {path.name for path in paths.values()} == set(TABLE_FILES.values())
    assert sorted(path.name for path in (tmp_path / "raw").iterdir()) == sorted(TABLE_FILES.values())
    for name, frame in world.tables().items():
        pd.testing.assert_frame_equal(pd.read_parquet(paths[name]), frame)


def test_same_config_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_world(generate_world(TINY), tmp_path / "a")
    second = write_world(generate_world(TINY), tmp_path / "b")
    for name in TABLE_FILES:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_a_failed_write_leaves_the_previous_files_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "raw"
    write_world(generate_world(TINY), out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    real_write = pq.write_table
    calls = []

    def fail_on_transactions(table: object, where: object, **kwargs: object) -> None:
        calls.append(where)
        if len(calls) == 4:
            raise OSError("disk full")
        real_write(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", fail_on_transactions)
    with pytest.raises(OSError, match="disk full"):
        write_world(generate_world(WorldConfig(seed=9, n_transactions=500, n_customers=30, n_days=30)), out)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before  # no new file, no temp left
