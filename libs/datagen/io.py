"""Writes a world as Parquet so that a failed run never leaves a half-written table behind.

Every table goes to a hidden temporary file in the destination folder first; only when all five are
complete are they renamed into place (``os.replace``, atomic within one filesystem).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from libs.datagen.world import World

TABLE_FILES = {
    "stores": "stores.parquet",
    "products": "products.parquet",
    "customers": "customers.parquet",
    "transactions": "transactions.parquet",
    "anomaly_labels": "anomaly_labels.parquet",
}


def _write_temporary(table: pa.Table, destination: Path) -> Path:
    temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, temporary)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    return temporary


def write_world(world: World, out_dir: Path) -> dict[str, Path]:
    """The path written for each table name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    destinations = {name: out_dir / filename for name, filename in TABLE_FILES.items()}
    staged: dict[str, Path] = {}
    try:
        for name, frame in world.tables().items():
            table = pa.Table.from_pandas(frame, preserve_index=False)
            staged[name] = _write_temporary(table, destinations[name])
        for name, temporary in staged.items():
            os.replace(temporary, destinations[name])
    finally:
        for temporary in staged.values():
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
    return destinations
