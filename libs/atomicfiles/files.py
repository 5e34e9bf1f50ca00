"""Atomic file outputs: a reader, or DVC hashing a stage's outputs, sees the old file or the new, never half.

Every writer writes a hidden temporary file in the destination's own folder (so the final rename never
crosses a filesystem), fsyncs it, then ``os.replace``-s it over the destination. If anything fails the
temporary file is removed and whatever was at the destination is untouched. Only the standard
library (numpy values are written as plain JSON when numpy is loaded), so every image can write
atomically without the data stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yields a temporary path for any writer (pyarrow, DuckDB's COPY...) and publishes it on clean exit."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        if not temporary.is_file():
            raise FileNotFoundError(f"the writer left no file at {temporary}")
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException:
        # Cleanup must never mask the writer's own error.
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    _fsync(path.parent)


def atomic_write_bytes(data: bytes, path: Path) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def atomic_write_text(text: str, path: Path, *, encoding: str = "utf-8") -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding=encoding)
    return Path(path)


def atomic_write_json(obj: Any, path: Path) -> Path:
    """Sorted keys, two-space indent and a final newline, so metrics files diff cleanly between runs.

    NaN and infinity are rejected rather than written as the non-JSON ``NaN`` that DVC and browsers
    cannot read; numpy scalars and arrays are written as plain numbers and lists.
    """
    try:
        text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False, default=_plain)
    except ValueError as error:
        raise ValueError(f"cannot write {path} as JSON: {error}") from error
    return atomic_write_text(text + "\n", path)


def _plain(value: Any) -> Any:
    # A numpy value exists only once numpy is imported, so a process without it never loads it here.
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        return value.item()
    if numpy is not None and isinstance(value, numpy.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _fsync(path: Path) -> None:
    """Flushes a file, or a folder's entry list, to disk; a rename alone survives a crash only if both are."""
    if path.is_dir() and os.name != "posix":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
