"""The analytics database file, where prediction logs and analytics tables accumulate across runs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from libs.settings import get_settings


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Opens ``path`` (default: the settings' ``warehouse_path``), creating its folder for writers."""
    target = path if path is not None else get_settings().warehouse_path
    if target is None:
        raise ValueError("settings define no warehouse_path")
    if read_only and not target.is_file():
        raise FileNotFoundError(f"warehouse {target} does not exist yet; open it writable once to create it")
    if not read_only:
        target.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(target), read_only=read_only)
