from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from libs.settings import get_settings
from libs.warehouse import connect


@pytest.fixture
def fresh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLOPS_WAREHOUSE_PATH", raising=False)
    monkeypatch.delenv("MLOPS_SETTINGS_FILE", raising=False)
    get_settings.cache_clear()
    yield tmp_path.resolve() / "home"
    get_settings.cache_clear()


def test_default_path_comes_from_settings_and_its_folder_is_created(fresh_settings: Path) -> None:
    with connect() as con:
        con.execute("CREATE TABLE predictions AS SELECT 1 AS id")
    assert (fresh_settings / "warehouse.duckdb").is_file()


def test_read_only_connection_reads_but_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "warehouse.duckdb"
    with connect(path) as con:
        con.execute("CREATE TABLE t AS SELECT 42 AS answer")
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT answer FROM t").fetchone() == (42,)
        with pytest.raises(duckdb.Error):
            con.execute("INSERT INTO t VALUES (1)")


def test_read_only_on_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist yet"):
        connect(tmp_path / "absent.duckdb", read_only=True)
    assert list(tmp_path.iterdir()) == []
