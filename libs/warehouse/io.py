"""Parquet outputs written atomically (see ``libs.atomicfiles``): DVC never hashes half a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from libs.atomicfiles import atomic_path


def atomic_write_parquet(data: pd.DataFrame | pa.Table, path: Path) -> Path:
    """Writes a DataFrame's columns (not its index: ``reset_index()`` first if it carries data)."""
    if isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data, preserve_index=False)
    elif isinstance(data, pa.Table):
        table = data
    else:
        raise TypeError(f"expected a pandas DataFrame or a pyarrow Table, got {type(data).__name__}")
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return Path(path)
