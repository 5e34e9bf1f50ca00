"""The DuckDB contender: agent2's production feature query, called the way its ``features`` stage calls it.

Same SQL file, same ``libs.warehouse`` entry points, same tables and parameter as
``agents.agent2.stages.features``; only the stage's schema validation and Parquet write are left out,
as they are not part of building the features. ``agents.agent2.stages`` itself is not imported: it
pulls in scikit-learn and MLflow, which would inflate this process's memory and start-up time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from libs.warehouse import load_sql, run_query

AGENT2_PACKAGE = "agents.agent2"
SQL_NAME = "features"


def agent2_sql_dir() -> Path:
    """The folder holding agent2's ``features.sql`` (``agents/agent2`` is a namespace package)."""
    spec = importlib.util.find_spec(AGENT2_PACKAGE)
    locations = (spec.submodule_search_locations or []) if spec is not None else []
    folders = [Path(folder) for folder in locations]
    for folder in folders:
        if (folder / f"{SQL_NAME}.sql").is_file():
            return folder
    raise FileNotFoundError(f"no {SQL_NAME}.sql in {AGENT2_PACKAGE} (searched {folders})")


def duckdb_features(
    tables: Mapping[str, Path], holdout_days: int, threads: int | None = None
) -> pd.DataFrame:
    """``threads=None`` is the stage's own setting (DuckDB's default: every core); 1 matches pandas."""
    return run_query(
        load_sql(agent2_sql_dir(), SQL_NAME),
        tables={name: tables[name] for name in ("transactions", "stores", "products", "scores")},
        params={"holdout_days": int(holdout_days)},
        threads=threads,
    )
