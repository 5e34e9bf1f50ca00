"""DuckDB over Parquet for queries, plus atomic writers (re-exported) so no stage leaves half an output."""

from libs.atomicfiles import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
from libs.warehouse.database import connect
from libs.warehouse.io import atomic_write_parquet
from libs.warehouse.sql import copy_query_to_parquet, load_sql, register_parquet, run_query

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_parquet",
    "atomic_write_text",
    "connect",
    "copy_query_to_parquet",
    "load_sql",
    "register_parquet",
    "run_query",
]
