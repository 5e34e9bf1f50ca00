"""Validates data against its contract, raising one ``DataValidationError`` with every failure in it.

Lazy validation collects all failures rather than stopping at the first, so one run shows everything
wrong with a dataset. Unreadable files (empty, truncated, not Parquet) raise the same error, so a stage
reports bad input the same way whatever went wrong with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors
from pyarrow import ArrowException

from libs.schemas.errors import DataValidationError
from libs.schemas.report import format_report

Schema = type[pa.DataFrameModel] | pa.DataFrameSchema


def _schema_name(schema: Schema) -> str:
    return str(getattr(schema, "__name__", None) or getattr(schema, "name", None) or "schema")


def validate_frame(df: pd.DataFrame, schema: Schema, *, dataset: str) -> pd.DataFrame:
    """The validated frame (with any coercions the schema asks for); ``dataset`` names it in the report."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"dataset '{dataset}': expected a pandas DataFrame, got {type(df).__name__}")
    try:
        return cast(pd.DataFrame, schema.validate(df, lazy=True))
    except SchemaErrors as errors:
        cases = errors.failure_cases
        report = format_report(dataset, _schema_name(schema), cases, data=df)
        raise DataValidationError(report, dataset=dataset, failure_cases=cases) from None
    except SchemaError as error:  # raised by pandera only outside lazy collection, kept as a safety net
        message = f"dataset '{dataset}' does not match {_schema_name(schema)}: {error}"
        raise DataValidationError(message, dataset=dataset) from None


PARQUET_MAGIC = b"PAR1"  # a Parquet file starts and ends with these four bytes


def _looks_like(prefix: bytes) -> str:
    """What a file that is not Parquet seems to hold, judged from its first bytes, for the report."""
    if prefix.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text in UTF-16 (it starts with a UTF-16 byte-order mark)"
    if prefix.startswith(b"\xef\xbb\xbf"):
        return "UTF-8 text with a byte-order mark"
    if b"\x00" in prefix:
        return "binary data of another format"
    try:
        prefix.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(prefix) - 3:  # not just a character cut at the end of the sample
            return "text that is not UTF-8 (e.g. latin-1)"
    return "text (e.g. CSV or JSON)"


def _unreadable_reason(path: Path, error: Exception) -> str:
    """One line saying why pyarrow could not read the file, instead of its stack trace."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        head = stream.read(512)
        stream.seek(max(size - len(PARQUET_MAGIC), 0))
        tail = stream.read()
    if not head.startswith(PARQUET_MAGIC):
        return f"not Parquet at all: it holds {_looks_like(head)}"
    if tail != PARQUET_MAGIC:
        return f"truncated: the footer every Parquet file ends with is missing ({size} bytes left)"
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"corrupt metadata or data, or text that is not valid UTF-8: {detail}"


def read_parquet(path: Path, *, dataset: str) -> pd.DataFrame:
    """The file's rows, or a ``DataValidationError`` saying plainly why there are none to use."""
    path = Path(path)
    if not path.is_file():
        reason = "is not a file" if path.exists() else "does not exist"
        raise DataValidationError(f"dataset '{dataset}': {path} {reason}", dataset=dataset)
    if path.stat().st_size == 0:
        raise DataValidationError(f"dataset '{dataset}': {path} is an empty file (0 bytes)", dataset=dataset)
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except (ArrowException, OSError, ValueError) as error:
        message = (
            f"dataset '{dataset}': {path} is not a readable Parquet file: {_unreadable_reason(path, error)}"
        )
        raise DataValidationError(message, dataset=dataset) from None
    if len(frame) == 0:
        raise DataValidationError(f"dataset '{dataset}' is empty: {path} has 0 rows", dataset=dataset)
    return frame


def validate_parquet(path: Path, schema: Schema, *, dataset: str) -> pd.DataFrame:
    return validate_frame(read_parquet(path, dataset=dataset), schema, dataset=dataset)
