from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from libs.warehouse import atomic_write_parquet, copy_query_to_parquet, load_sql, register_parquet, run_query

JOIN = """
SELECT s.name AS store, sum(o.amount) AS revenue
FROM orders AS o JOIN stores AS s USING (store_id)
WHERE o.amount >= $min_amount
GROUP BY s.name
ORDER BY s.name
"""


@pytest.fixture
def tables(tmp_path: Path) -> dict[str, Path]:
    orders = pd.DataFrame({"store_id": [1, 1, 2, 2, 3], "amount": [5.0, 20.0, 30.0, 1.0, 50.0]})
    stores = pd.DataFrame({"store_id": [1, 2, 3], "name": ["north", "south", "west"]})
    return {
        "orders": atomic_write_parquet(orders, tmp_path / "orders.parquet"),
        "stores": atomic_write_parquet(stores, tmp_path / "it's stores.parquet"),
    }


def test_run_query_joins_parquet_files_with_a_named_parameter(tables: dict[str, Path]) -> None:
    result = run_query(JOIN, tables=tables, params={"min_amount": 10.0})
    assert result.to_dict("list") == {"store": ["north", "south", "west"], "revenue": [20.0, 30.0, 50.0]}


def test_parameters_are_values_not_sql(tables: dict[str, Path]) -> None:
    query = "SELECT count(*) AS n FROM stores WHERE name = $name"
    assert run_query(query, tables=tables, params={"name": "north' OR '1'='1"})["n"].tolist() == [0]


@pytest.mark.parametrize(
    "name", ["orders; DROP TABLE x", "1orders", "or-ders", "", 'a"b', "main.orders", "orders ", "ördres"]
)
def test_bad_view_names_are_rejected(tables: dict[str, Path], name: str) -> None:
    with pytest.raises(ValueError, match="must be a plain identifier"):
        run_query("SELECT 1", tables={name: tables["orders"]})


def test_missing_file_names_the_table(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"table 'sales': Parquet file .*absent\.parquet does not exist"
    ):
        run_query("SELECT * FROM sales", tables={"sales": tmp_path / "absent.parquet"})


def test_glob_paths_read_every_part(tmp_path: Path) -> None:
    for part in range(3):
        atomic_write_parquet(pd.DataFrame({"x": [part]}), tmp_path / "parts" / f"part-{part}.parquet")
    result = run_query(
        "SELECT sum(x) AS total FROM parts", tables={"parts": tmp_path / "parts" / "*.parquet"}
    )
    assert result["total"].tolist() == [3]


def test_given_connection_is_configured_and_left_without_views(tables: dict[str, Path]) -> None:
    with duckdb.connect() as con:
        con.execute("CREATE TABLE orders AS SELECT 'warehouse table' AS origin")
        result = run_query(
            "SELECT count(*) AS n FROM orders", tables=tables, con=con, memory_limit="256MB", threads=1
        )
        assert result["n"].tolist() == [5]
        limit, threads = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchall()[0]
        with duckdb.connect(config={"memory_limit": "256MB"}) as reference:
            expected_limit = reference.execute("SELECT current_setting('memory_limit')").fetchone()
        assert (limit, threads) == (expected_limit[0] if expected_limit else None, 1)
        assert con.execute("SELECT origin FROM orders").fetchall() == [("warehouse table",)]


def test_threads_must_be_positive(tables: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="threads must be >= 1"):
        run_query("SELECT 1", tables=tables, threads=0)


def test_register_parquet_keeps_views_for_the_callers_connection(tables: dict[str, Path]) -> None:
    with duckdb.connect() as con:
        register_parquet(con, tables)
        assert con.execute("SELECT count(*) FROM stores").fetchone() == (3,)


def test_copy_query_to_parquet_writes_the_rows_and_counts_them(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out" / "revenue.parquet"
    query = JOIN + "/* a ';' in a comment */ ; -- trailing comment and terminators are fine\n;"
    rows = copy_query_to_parquet(query, tables=tables, params={"min_amount": 10.0}, out=out, threads=2)
    assert rows == 3
    assert pq.read_table(out).to_pydict() == {
        "store": ["north", "south", "west"],
        "revenue": [20.0, 30.0, 50.0],
    }
    assert [path.name for path in out.parent.iterdir()] == ["revenue.parquet"]


@pytest.mark.parametrize("sql", ["SELECT 1; SELECT 2", "", "-- nothing but a comment"])
def test_copy_takes_exactly_one_query(tmp_path: Path, sql: str) -> None:
    with pytest.raises(ValueError, match="exactly one query"):
        copy_query_to_parquet(sql, tables={}, out=tmp_path / "x.parquet")
    assert list(tmp_path.iterdir()) == []


def test_copy_streams_generated_rows_without_tables(tmp_path: Path) -> None:
    out = tmp_path / "range.parquet"
    rows = copy_query_to_parquet(
        "SELECT range AS i FROM range(200000)", tables={}, out=out, memory_limit="128MB"
    )
    assert rows == 200_000
    assert pq.ParquetFile(out).metadata.num_rows == 200_000


def test_failed_copy_leaves_old_output_and_no_temporaries(tables: dict[str, Path], tmp_path: Path) -> None:
    out = atomic_write_parquet(pd.DataFrame({"old": [1]}), tmp_path / "result.parquet")
    before = out.read_bytes()
    with pytest.raises(duckdb.Error):
        copy_query_to_parquet("SELECT no_such_column FROM orders", tables=tables, out=out)
    with pytest.raises(duckdb.Error):
        copy_query_to_parquet("SELECT * FROM orders WHERE amount > $missing", tables=tables, out=out)
    assert out.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")) == []


def test_load_sql_reads_the_file_beside_the_module(tmp_path: Path) -> None:
    (tmp_path / "daily_sales.sql").write_text("SELECT 1 AS one\n")
    module = tmp_path / "stage.py"
    assert load_sql(module, "daily_sales") == "SELECT 1 AS one\n"
    assert load_sql(str(tmp_path), "daily_sales") == "SELECT 1 AS one\n"
    with pytest.raises(
        FileNotFoundError, match=r"no SQL file .*weekly\.sql; \.sql files in .*: daily_sales$"
    ):
        load_sql(module, "weekly")
    for bad in ["../secrets", "daily_sales.sql", "sub/daily_sales", ""]:
        with pytest.raises(ValueError, match="must be a bare file stem"):
            load_sql(module, bad)
