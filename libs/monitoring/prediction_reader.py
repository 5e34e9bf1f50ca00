"""Prediction logs read back (see ``libs.monitoring.prediction_log`` for how they are written).

API::

    frame = read_predictions(directory, "agent2", since=datetime(2024, 1, 1, tzinfo=UTC))
    inputs = logged_inputs(frame)

``read_predictions`` adds the hive key ``date`` to the logged columns; ``logged_inputs`` strips the
``input_`` prefix, so a logged frame compares directly with a training frame. DuckDB reads every
file of a day's partition at once and skips whole days before ``since``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from libs.predictionlog.records import FIXED_COLUMNS, INPUT_PREFIX, SUFFIX, as_utc

_READ_ALL = """
    SELECT * FROM read_json($files, format = 'newline_delimited', hive_partitioning = true,
                            union_by_name = true)
    ORDER BY timestamp
"""
# The date condition lets DuckDB skip whole partitions; the timestamp condition is the exact cut.
_READ_SINCE = """
    SELECT * FROM read_json($files, format = 'newline_delimited', hive_partitioning = true,
                            union_by_name = true)
    WHERE date >= $since::DATE AND timestamp >= $since
    ORDER BY timestamp
"""


def read_predictions(directory: Path, agent: str, since: datetime | date | None = None) -> pd.DataFrame:
    """Every logged row of ``agent`` (optionally from ``since`` on), oldest first, via DuckDB."""
    agent_dir = Path(directory) / agent
    if not any(agent_dir.glob(f"date=*/*{SUFFIX}")):
        return _empty_frame()
    since_ts = as_utc(since) if since is not None else None
    parameters: dict[str, Any] = {"files": str(agent_dir / "date=*" / f"*{SUFFIX}")}
    query = _READ_ALL
    if since_ts is not None:
        query, parameters["since"] = _READ_SINCE, since_ts
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        frame = connection.execute(query, parameters).df()
    for column in frame.columns:  # a feature no file had a value for: numeric, as training frames have it
        if column.startswith(INPUT_PREFIX) and frame[column].isna().all():
            frame[column] = frame[column].astype("float64")
    return frame[[*FIXED_COLUMNS, *sorted(c for c in frame.columns if c not in FIXED_COLUMNS)]]


def logged_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The input features of a logged frame under their own names, as training frames have them."""
    inputs = [column for column in frame.columns if column.startswith(INPUT_PREFIX)]
    return frame[inputs].rename(columns=lambda column: column.removeprefix(INPUT_PREFIX))


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.Series([], dtype="datetime64[us, UTC]"),
            "model_name": pd.Series([], dtype="str"),
            "model_version": pd.Series([], dtype="str"),
            "latency_ms": pd.Series([], dtype="float64"),
            "output": pd.Series([], dtype="float64"),
            "date": pd.Series([], dtype="datetime64[us]"),
        }
    )
