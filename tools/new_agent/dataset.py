"""Reads a user's dataset with DuckDB and describes it: the columns an agent declares, and a sample.

What is inferred, and why:

- numbers keep their type (integers stay `int`), booleans become `bool`, strings with at most
  `MAX_CATEGORIES` distinct values become categories; other strings, dates and blobs are left out
  (listed in the declaration, so the user sees what was dropped and can add a derived column);
- a column with any null is nullable; one with only nulls is left out;
- an accepted range is the observed one widened by `MARGIN` of its span on each side (at least
  1 when every value is the same): a served row a little outside what training saw is still
  answered, one far outside (a typo, 1e308) is refused at the boundary. A column with no negative
  value gets no negative minimum.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.new_agent.names import Refusal

MAX_CATEGORIES = 20
MARGIN = 0.25
SAMPLE_ROWS = 60
SUFFIXES = (".csv", ".parquet")
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOATS = {"FLOAT", "DOUBLE", "REAL", "HUGEINT", "UHUGEINT"}


@dataclass(frozen=True)
class Column:
    """One declared column, as `libs.tabular.Column` will hold it."""

    name: str
    kind: str  # float, int, bool, category, str (an id only)
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """What the scaffolder knows of the user's file after reading it once."""

    source: Path
    sha256: str
    rows: int
    features: tuple[Column, ...]
    target: Column
    id: Column | None
    left_out: tuple[tuple[str, str], ...]  # (column, why)
    target_counts: tuple[tuple[str, int], ...]  # classifier: rows per class, in code order
    target_mean: float | None  # regressor
    sample: tuple[dict[str, Any], ...]


def check_file(path: Path) -> None:
    """Refusals that need no DuckDB: the file exists and has a suffix this reader knows."""
    if not path.is_file():
        raise Refusal(f"--data {path} is not a file")
    if path.suffix.lower() not in SUFFIXES:
        raise Refusal(f"--data {path}: expected a {' or '.join(SUFFIXES)} file")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _widened(low: float, high: float, integer: bool) -> tuple[float, float]:
    pad = MARGIN * (high - low) or 1.0
    low, high = (low - pad if low - pad >= 0 or low < 0 else 0.0), high + pad
    if integer:
        return float(math.floor(low)), float(math.ceil(high))
    return float(f"{low:.6g}"), float(f"{high:.6g}")


def _relation(connection: Any, path: Path) -> Any:
    try:
        if path.suffix.lower() == ".csv":
            return connection.read_csv(str(path))
        return connection.read_parquet(str(path))
    except Exception as error:  # DuckDB raises its own error types for unreadable files
        raise Refusal(f"--data {path} cannot be read: {str(error).splitlines()[0]}") from None


def _describe(connection: Any, name: str, dtype: str) -> tuple[Column | None, str]:
    """The column's declaration, or None and why it is left out."""
    column = _quoted(name)
    nulls, distinct, low, high = connection.execute(
        f"SELECT count(*) FILTER (WHERE {column} IS NULL), count(DISTINCT {column}),"  # noqa: S608
        f" min({column}), max({column}) FROM data"
    ).fetchone()
    if low is None:
        return None, "only nulls"
    nullable = nulls > 0
    base = dtype.split("(")[0]
    if base in _INTEGERS or base in _FLOATS or base == "DECIMAL":
        integer = base in _INTEGERS
        minimum, maximum = _widened(float(low), float(high), integer)
        return Column(name, "int" if integer else "float", nullable, minimum, maximum), ""
    if base == "BOOLEAN":
        return Column(name, "bool", nullable), ""
    if base == "VARCHAR":
        if distinct > MAX_CATEGORIES:
            return None, f"text with {distinct} distinct values (categories stop at {MAX_CATEGORIES})"
        values = connection.execute(
            f"SELECT DISTINCT {column} FROM data WHERE {column} IS NOT NULL ORDER BY 1"  # noqa: S608
        ).fetchall()
        return Column(name, "category", nullable, categories=tuple(str(value) for (value,) in values)), ""
    return None, f"type {dtype} (dates and other types are not features; derive numbers in features.sql)"


def _id_column(connection: Any, name: str, dtype: str) -> Column:
    nulls, distinct = connection.execute(
        f"SELECT count(*) FILTER (WHERE {_quoted(name)} IS NULL), count(DISTINCT {_quoted(name)}) FROM data"  # noqa: S608
    ).fetchone()
    if nulls:
        raise Refusal(f"--id {name!r} has {nulls} null values: every row needs its id")
    if distinct < 2:
        raise Refusal(f"--id {name!r} has a single value: it cannot group a split")
    kind = "int" if dtype.split("(")[0] in _INTEGERS else "str"
    return Column(name, kind)


def _target(connection: Any, column: Column | None, name: str, kind: str) -> tuple[Column, Any, Any]:
    """The target's declaration and its class counts (classifier) or mean (regressor)."""
    quoted = _quoted(name)
    null_count = f"SELECT count(*) FILTER (WHERE {quoted} IS NULL) FROM data"  # noqa: S608 (quoted name)
    (nulls,) = connection.execute(null_count).fetchone()
    if nulls:
        raise Refusal(f"--target {name!r} has {nulls} null values: drop those rows or fill them first")
    if kind == "classifier":
        counts = connection.execute(
            f"SELECT CAST({quoted} AS VARCHAR) AS value, count(*) FROM data GROUP BY 1 ORDER BY 1"  # noqa: S608
        ).fetchall()
        if len(counts) != 2:
            raise Refusal(
                f"--target {name!r} has {len(counts)} distinct values; the classifier kind needs exactly 2"
            )
        if min(count for _, count in counts) < 10:
            raise Refusal(f"--target {name!r}: a class has fewer than 10 rows, too few to train and evaluate")
        classes = tuple(str(value) for value, _ in counts)
        return Column(name, "category", categories=classes), tuple((str(v), int(c)) for v, c in counts), None
    if column is None or column.kind not in ("int", "float"):
        raise Refusal(f"--target {name!r} is not numeric; the regressor kind predicts a number")
    (mean,) = connection.execute(f"SELECT avg({quoted}) FROM data").fetchone()  # noqa: S608
    return Column(name, "float", False, column.minimum, column.maximum), (), float(mean)


def _sample(connection: Any, names: Sequence[str], target: str, kind: str) -> tuple[dict[str, Any], ...]:
    """Up to SAMPLE_ROWS rows, the same on every run; a classifier's has both classes evenly."""
    columns = ", ".join(
        (
            f"CAST({_quoted(name)} AS VARCHAR) AS {_quoted(name)}"
            if kind == "classifier" and name == target
            else _quoted(name)
        )
        for name in names
    )
    per_class = SAMPLE_ROWS // 2
    partition = f"PARTITION BY CAST({_quoted(target)} AS VARCHAR) " if kind == "classifier" else ""
    limit = per_class if kind == "classifier" else SAMPLE_ROWS
    rows = connection.execute(
        f"SELECT {columns} FROM (SELECT *, row_number() OVER ({partition}ORDER BY hash(rowid_)) AS n"  # noqa: S608
        f" FROM (SELECT *, row_number() OVER () AS rowid_ FROM data)) WHERE n <= {limit} ORDER BY rowid_"
    ).fetchall()
    return tuple(dict(zip(names, row, strict=True)) for row in rows)


def read_dataset(path: Path, *, target: str, id_column: str | None, kind: str) -> Dataset:
    """Reads `path` once with DuckDB; raises Refusal naming the problem before anything is written."""
    check_file(path)
    import duckdb  # here, so refusals that need no data work without it

    connection = duckdb.connect()
    relation = _relation(connection, path)
    relation.create_view("data")
    types = dict(zip(relation.columns, (str(dtype) for dtype in relation.types), strict=True))
    for flag, name in (("--target", target), ("--id", id_column)):
        if name is not None and name not in types:
            raise Refusal(f"{flag} {name!r} is not a column of {path.name}: it has {', '.join(types)}")
    if id_column == target:
        raise Refusal("--id and --target name the same column")
    (rows,) = connection.execute("SELECT count(*) FROM data").fetchall()[0]
    if rows < 30:
        raise Refusal(f"--data {path.name} has {rows} rows; at least 30 are needed to train and evaluate")
    features, left_out = [], []
    target_column: Column | None = None
    for name, dtype in types.items():
        if name == id_column:
            continue
        described, why = _describe(connection, name, dtype)
        if name == target:
            target_column = described
        elif described is None:
            left_out.append((name, why))
        else:
            features.append(described)
    if not features:
        raise Refusal(f"--data {path.name} has no usable feature column besides the target and id")
    target_declared, counts, mean = _target(connection, target_column, target, kind)
    identity = _id_column(connection, id_column, types[id_column]) if id_column else None
    names = [*((id_column,) if id_column else ()), *(column.name for column in features), target]
    return Dataset(
        source=path,
        sha256=_sha256(path),
        rows=int(rows),
        features=tuple(features),
        target=target_declared,
        id=identity,
        left_out=tuple(left_out),
        target_counts=counts,
        target_mean=mean,
        sample=_sample(connection, names, target, kind),
    )


def copy_as_parquet(source: Path, destination: Path) -> None:
    """The agent's own copy of the data, as Parquet whatever the source format; the source is only read."""
    import duckdb

    destination.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    relation = _relation(connection, source)
    relation.write_parquet(str(destination))
