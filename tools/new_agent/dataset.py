"""Reads a user's dataset with DuckDB and describes it: the columns an agent declares, and a sample.

What is inferred, and why:

- numbers keep their type (integers stay `int`), booleans become `bool`, strings with at most
  `MAX_CATEGORIES` distinct values become categories; other strings, dates and blobs are left out
  (listed in the declaration, so the user sees what was dropped and can add a derived column);
- a column with any null (or NaN) is nullable; one with only nulls is left out; infinite values are
  refused (no request can carry them, and no range holds them);
- integers beyond 64 bits are declared as floats (the feature table holds int64);
- an accepted range is the observed one widened by `MARGIN` of its span on each side (at least
  1 when every value is the same): a served row a little outside what training saw is still
  answered, one far outside (a typo, 1e308) is refused at the boundary. A column with no negative
  value gets no negative minimum.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libs.tablenames.reserved import answer_field_refusal, name_refusal
from tools.new_agent.names import Refusal

MAX_CATEGORIES = 20
MARGIN = 0.25
SAMPLE_ROWS = 60
SUFFIXES = (".csv", ".parquet")
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOATS = {"FLOAT", "DOUBLE", "REAL", "HUGEINT", "UHUGEINT"}
_IEEE = {"FLOAT", "DOUBLE", "REAL"}  # the types that can hold NaN and infinity
_INT64 = (-(2**63), 2**63 - 1)
_LARGEST = 1.7976931348623157e308  # the largest finite float: a widened range stops there
MIN_CLASS_ROWS = 10
MIN_CLASS_IDS = 2  # a stratified split by id puts ids of each class on both sides
MIN_IDS = 10  # and a holdout of a fraction of them (params.yaml) still holds one id of each class
# The answer's output field per kind (the dataset templates name it through @@output_field).
OUTPUT_FIELDS = {"classifier": "probability", "regressor": "prediction"}


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
    pad = (MARGIN * high - MARGIN * low) or 1.0  # two products: high - low itself can overflow
    low, high = (low - pad if low - pad >= 0 or low < 0 else 0.0), high + pad
    if integer:
        low, high = float(math.floor(max(low, -_LARGEST))), float(math.ceil(min(high, _LARGEST)))
    else:
        low, high = _six_digits(low, math.floor), _six_digits(high, math.ceil)
    return max(low, -_LARGEST), min(high, _LARGEST)


def _six_digits(value: float, direction: Any) -> float:
    """``value`` to six significant digits, rounded outward (``math.floor`` for a minimum,
    ``math.ceil`` for a maximum), so a range never excludes a value it was widened around."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 5)
    return float(f"{direction(value / step) * step:.6g}")


def _predicates(column: str, dtype: str) -> tuple[str, str]:
    """SQL for (the value is missing, the value is a finite number or any non-missing value)."""
    if dtype.split("(")[0] in _IEEE:  # DuckDB does not count NaN as NULL
        return f"({column} IS NULL OR isnan({column}))", f"isfinite({column})"
    return f"{column} IS NULL", f"{column} IS NOT NULL"


def _relation(connection: Any, path: Path) -> Any:
    try:
        if path.suffix.lower() == ".csv":
            return connection.read_csv(str(path))
        return connection.read_parquet(str(path))
    except Exception as error:  # DuckDB raises its own error types for unreadable files
        raise Refusal(f"--data {path} cannot be read: {str(error).splitlines()[0]}") from None


def _is_row_number(nulls: int, distinct: int, low: Any, high: Any, rows: int) -> bool:
    """Every row a different whole number, one run from low to high: a row index (pandas writes one
    with `to_csv()`), not a measurement. As a feature it would teach the model the file's order."""
    return nulls == 0 and distinct == rows and int(high) - int(low) + 1 == rows


def _describe(connection: Any, name: str, dtype: str, rows: int | None) -> tuple[Column | None, str]:
    """The column's declaration, or None and why it is left out; ``rows`` None for the target,
    which is never taken for a row number."""
    column = _quoted(name)
    missing, finite = _predicates(column, dtype)
    nulls, distinct, low, high, infinite = connection.execute(
        f"SELECT count(*) FILTER (WHERE {missing}), count(DISTINCT {column}) FILTER (WHERE NOT {missing}),"  # noqa: S608
        f" min({column}) FILTER (WHERE {finite}), max({column}) FILTER (WHERE {finite}),"
        f" count(*) FILTER (WHERE NOT {missing} AND NOT {finite}) FROM data"
    ).fetchone()
    if infinite:
        raise Refusal(
            f"column {name!r} holds {infinite} infinite values: replace them with numbers or nulls,"
            " or drop the column"
        )
    if low is None:
        return None, "only nulls"
    nullable = nulls > 0
    base = dtype.split("(")[0]
    if base in _INTEGERS and rows is not None and _is_row_number(nulls, distinct, low, high, rows):
        return (
            None,
            "a row number (each row a different whole number, in one run): pass --id if it groups rows",
        )
    if base in _INTEGERS or base in _FLOATS or base == "DECIMAL":
        integer = base in _INTEGERS and _INT64[0] <= int(low) and int(high) <= _INT64[1]
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


def _groups_per_class(connection: Any, id_name: str, target: Column) -> None:
    """A classifier split by id stratifies the ids by their class (a group's highest, as
    ``libs.tabular.frames.split`` does), which needs at least two ids of each class."""
    found = dict(
        connection.execute(
            f"SELECT label, count(*) FROM (SELECT max(CAST({_quoted(target.name)} AS VARCHAR)) AS label"  # noqa: S608
            f" FROM data GROUP BY {_quoted(id_name)}) GROUP BY 1"
        ).fetchall()
    )
    for label in target.categories:
        if found.get(label, 0) < MIN_CLASS_IDS:
            raise Refusal(
                f"--id {id_name!r}: {found.get(label, 0)} ids have class {label!r} (a group's class is its"
                f" highest); a split by id needs at least {MIN_CLASS_IDS} per class"
            )


def _id_column(connection: Any, name: str, dtype: str) -> Column:
    """An int id when the values fit int64 (the feature table's integers), a string id otherwise."""
    column = _quoted(name)
    missing, _ = _predicates(column, dtype)
    nulls, distinct, low, high = connection.execute(
        f"SELECT count(*) FILTER (WHERE {missing}), count(DISTINCT {column}), min({column}), max({column})"  # noqa: S608
        " FROM data"
    ).fetchone()
    if nulls:
        raise Refusal(f"--id {name!r} has {nulls} null or NaN values: every row needs its id")
    if distinct < 2:
        raise Refusal(f"--id {name!r} has a single value: it cannot group a split")
    if distinct < MIN_IDS:
        raise Refusal(f"--id {name!r} has {distinct} values; a split by id needs at least {MIN_IDS}")
    fits = dtype.split("(")[0] in _INTEGERS and _INT64[0] <= int(low) and int(high) <= _INT64[1]
    return Column(name, "int" if fits else "str")


def _target(
    connection: Any, column: Column | None, name: str, dtype: str, kind: str
) -> tuple[Column, Any, Any]:
    """The target's declaration and its class counts (classifier) or mean (regressor)."""
    quoted = _quoted(name)
    missing, _ = _predicates(quoted, dtype)
    null_count = f"SELECT count(*) FILTER (WHERE {missing}) FROM data"  # noqa: S608 (quoted name)
    (nulls,) = connection.execute(null_count).fetchone()
    if nulls:
        raise Refusal(f"--target {name!r} has {nulls} null or NaN values: drop those rows or fill them first")
    if kind == "classifier":
        counts = connection.execute(
            f"SELECT CAST({quoted} AS VARCHAR) AS value, count(*) FROM data GROUP BY 1 ORDER BY 1"  # noqa: S608
        ).fetchall()
        if len(counts) != 2:
            raise Refusal(
                f"--target {name!r} has {len(counts)} distinct value{'' if len(counts) == 1 else 's'};"
                " the classifier kind needs exactly 2"
            )
        if min(count for _, count in counts) < MIN_CLASS_ROWS:
            raise Refusal(
                f"--target {name!r}: a class has fewer than {MIN_CLASS_ROWS} rows,"
                " too few to train and evaluate"
            )
        classes = tuple(str(value) for value, _ in counts)
        return Column(name, "category", categories=classes), tuple((str(v), int(c)) for v, c in counts), None
    if column is None or column.kind not in ("int", "float"):
        raise Refusal(f"--target {name!r} is not numeric; the regressor kind predicts a number")
    (mean,) = connection.execute(f"SELECT avg({quoted}) FROM data").fetchone()  # noqa: S608
    return Column(name, "float", False, column.minimum, column.maximum), (), float(mean)


def _sample(
    connection: Any, names: Sequence[str], target: str, kind: str, text: Sequence[str] = ()
) -> tuple[dict[str, Any], ...]:
    """Up to SAMPLE_ROWS rows, the same on every run; a classifier's has both classes evenly.
    A classifier's target and the ``text`` columns (a string id) are sampled as text."""
    as_text = {*text, *((target,) if kind == "classifier" else ())}
    columns = ", ".join(
        f"CAST({_quoted(name)} AS VARCHAR) AS {_quoted(name)}" if name in as_text else _quoted(name)
        for name in names
    )
    per_class = SAMPLE_ROWS // 2
    partition = f"PARTITION BY CAST({_quoted(target)} AS VARCHAR) " if kind == "classifier" else ""
    limit = per_class if kind == "classifier" else SAMPLE_ROWS
    rows = connection.execute(
        # Only the declared columns, none of which may start with an underscore (libs/tablenames), so
        # the helper columns _row and _pick shadow nothing.
        f"SELECT {columns} FROM (SELECT *, row_number() OVER ({partition}ORDER BY hash(_row)) AS _pick"  # noqa: S608
        f" FROM (SELECT {', '.join(map(_quoted, names))}, row_number() OVER () AS _row FROM data))"
        f" WHERE _pick <= {limit} ORDER BY _row"
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
    if all(re.fullmatch(r"column\d+", name) for name in types):  # DuckDB's names when it found no header
        raise Refusal(
            f"--data {path.name}: no header row could be read (an empty file, or rows of different lengths)"
        )
    for flag, name in (("--target", target), ("--id", id_column)):
        if name is not None and name not in types:
            raise Refusal(f"{flag} {name!r} is not a column of {path.name}: it has {', '.join(types)}")
    if id_column == target:
        raise Refusal("--id and --target name the same column")
    if id_column is not None and (reason := answer_field_refusal(id_column, OUTPUT_FIELDS[kind])):
        raise Refusal(f"--id {id_column!r} cannot be the id: {reason}; rename the column")
    (rows,) = connection.execute("SELECT count(*) FROM data").fetchall()[0]
    if rows < 30:
        raise Refusal(f"--data {path.name} has {rows} rows; at least 30 are needed to train and evaluate")
    features, left_out = [], []
    target_column: Column | None = None
    for name, dtype in types.items():
        if name == id_column:
            continue
        described, why = _describe(connection, name, dtype, None if name == target else int(rows))
        if (described is not None or name == target) and (reason := name_refusal(name)):
            raise Refusal(f"column {name!r} cannot be used: {reason}; rename it in the data")
        if name == target:
            target_column = described
        elif described is None:
            left_out.append((name, why))
        else:
            features.append(described)
    if not features:
        raise Refusal(f"--data {path.name} has no usable feature column besides the target and id")
    target_declared, counts, mean = _target(connection, target_column, target, types[target], kind)
    if id_column is not None and (reason := name_refusal(id_column)):
        raise Refusal(f"column {id_column!r} cannot be used: {reason}; rename it in the data")
    identity = _id_column(connection, id_column, types[id_column]) if id_column else None
    if identity is not None and kind == "classifier":
        _groups_per_class(connection, identity.name, target_declared)
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
        sample=_sample(
            connection, names, target, kind, [identity.name] if identity and identity.kind == "str" else []
        ),
    )


def copy_as_parquet(source: Path, destination: Path) -> None:
    """The agent's own copy of the data, as Parquet whatever the source format; the source is only read."""
    import duckdb

    destination.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    relation = _relation(connection, source)
    relation.write_parquet(str(destination))
