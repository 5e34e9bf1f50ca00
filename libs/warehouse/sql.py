"""Queries as ``.sql`` files beside the code that runs them, executed by DuckDB straight over Parquet files.

Each entry of ``tables`` becomes a temporary view for the duration of one query, so SQL names logical
tables (``FROM orders``) while the caller decides which file backs them. Values reach SQL only as bound
``$name`` parameters; the two things DuckDB cannot bind (view names and file paths in DDL/COPY) are
validated as identifiers and quoted as string literals respectively.

``memory_limit`` and ``threads`` configure the in-memory connection each call opens, or, when ``con`` is
given, that connection (where they then persist).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import pandas as pd

from libs.warehouse.io import atomic_path

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQL_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_GLOB_CHARACTERS = frozenset("*?[")


def load_sql(package_file: str | Path, name: str) -> str:
    """``load_sql(__file__, "daily_sales")`` reads ``daily_sales.sql`` from the calling module's folder."""
    if not _SQL_FILE_NAME.fullmatch(name) or name.endswith(".sql"):
        raise ValueError(f"SQL name {name!r} must be a bare file stem like 'daily_sales' (no folder or .sql)")
    anchor = Path(package_file)
    folder = anchor if anchor.is_dir() else anchor.parent
    path = folder / f"{name}.sql"
    if not path.is_file():
        available = ", ".join(sorted(sql.stem for sql in folder.glob("*.sql"))) or "(none)"
        raise FileNotFoundError(f"no SQL file {path}; .sql files in {folder}: {available}")
    return path.read_text(encoding="utf-8")


def run_query(
    sql: str,
    *,
    tables: Mapping[str, Path],
    params: Mapping[str, object] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """The result as a DataFrame; for outputs too big for memory use ``copy_query_to_parquet``."""
    with _connection(con, memory_limit, threads) as connection, _views(connection, tables):
        return connection.execute(sql, _parameters(params)).df()


def copy_query_to_parquet(
    sql: str,
    *,
    tables: Mapping[str, Path],
    out: Path,
    params: Mapping[str, object] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> int:
    """Streams the result to Parquet inside DuckDB (nothing passes through pandas), atomically; row count.

    With ``memory_limit`` set, DuckDB spills to its ``temp_directory`` (``.tmp`` in the working directory
    unless configured) rather than failing.
    """
    query = _single_query(sql)
    with (
        _connection(con, memory_limit, threads) as connection,
        _views(connection, tables),
        atomic_path(out) as temporary,
    ):
        # The newline before ')' keeps a trailing `-- comment` in the query from swallowing it.
        copy = f"COPY (\n{query}\n) TO {_string_literal(str(temporary))} (FORMAT PARQUET)"
        row = connection.execute(copy, _parameters(params)).fetchone()
    if row is None:
        raise RuntimeError("DuckDB's COPY returned no row count")
    return int(row[0])


def register_parquet(connection: duckdb.DuckDBPyConnection, tables: Mapping[str, Path]) -> None:
    """Creates (or replaces) one temporary view per table; paths may be globs like ``parts/*.parquet``."""
    for name, path in tables.items():
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"view name {name!r} must be a plain identifier: letters, digits and _")
        if not _GLOB_CHARACTERS.intersection(str(path)) and not Path(path).exists():
            raise FileNotFoundError(f"table '{name}': Parquet file {path} does not exist")
    for name, path in tables.items():
        # DuckDB cannot bind parameters in DDL; the name was validated above and the path is quoted.
        source = _string_literal(str(path))
        view = f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM read_parquet({source})'  # noqa: S608
        connection.execute(view)


@contextlib.contextmanager
def _views(connection: duckdb.DuckDBPyConnection, tables: Mapping[str, Path]) -> Iterator[None]:
    """Drops the views afterwards: left behind, a temp view would shadow a same-named warehouse table."""
    try:
        register_parquet(connection, tables)
        yield
    finally:
        for name in tables:
            if isinstance(name, str) and _IDENTIFIER.fullmatch(name):
                with contextlib.suppress(duckdb.Error):
                    connection.execute(f'DROP VIEW IF EXISTS temp."{name}"')


@contextlib.contextmanager
def _connection(
    con: duckdb.DuckDBPyConnection | None, memory_limit: str | None, threads: int | None
) -> Iterator[duckdb.DuckDBPyConnection]:
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if con is not None:
        _configure(con, memory_limit, threads)
        yield con
        return
    with duckdb.connect(":memory:") as owned:
        _configure(owned, memory_limit, threads)
        yield owned


def _configure(connection: duckdb.DuckDBPyConnection, memory_limit: str | None, threads: int | None) -> None:
    if memory_limit is not None:
        connection.execute("SET memory_limit = ?", [memory_limit])
    if threads is not None:
        connection.execute("SET threads = ?", [threads])


def _single_query(sql: str) -> str:
    """The query minus trailing ``;`` and comments (per DuckDB's own tokenizer), ready for ``COPY (...)``."""
    count = len(duckdb.extract_statements(sql))
    if count != 1:
        raise ValueError(f"copy_query_to_parquet takes exactly one query, got {count} statements")
    end = len(sql)
    for position, kind in reversed(duckdb.tokenize(sql)):
        if kind != duckdb.token_type.comment and not sql.startswith(";", position):
            break
        end = position
    return sql[:end]


def _parameters(params: Mapping[str, object] | None) -> dict[str, object] | None:
    return dict(params) if params else None


def _string_literal(text: str) -> str:
    """A SQL string literal; doubling quotes is the whole escaping rule in DuckDB's standard strings."""
    return "'" + text.replace("'", "''") + "'"
