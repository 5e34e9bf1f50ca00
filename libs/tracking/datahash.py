"""Content hashes of input data, read from DVC's own records while they still describe the data.

DVC records an md5 for every tracked file or directory in ``<path>.dvc`` pointer files and in the
``outs``/``deps`` of ``dvc.lock`` files; reading them costs nothing however large the data is. A
record is trusted only while the recorded size (and file count, for directories) still matches
what is on disk; otherwise, or with no record, the hash is computed here.

Files hash as DVC 3 hashes them: the md5 of the bytes. Directories follow DVC's ``.dir`` scheme,
the md5 of the JSON list of ``{"md5", "relpath"}`` entries sorted by relpath, suffixed ``.dir``.
It is a content hash compatible in spirit, not guaranteed identical to DVC's: DVC also applies
``.dvcignore`` and its own file filters, which this module does not read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_logger = logging.getLogger(__name__)
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DataHash:
    md5: str
    source: str  # the .dvc or dvc.lock file it was read from, or "computed"


@dataclass(frozen=True)
class _Record:
    path: Path
    md5: str
    size: int | None
    nfiles: int | None
    is_output: bool
    origin: Path


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files_under(directory: Path) -> list[Path]:
    found: list[Path] = []
    for current, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(Path(current) / name for name in files)
    return found


def dir_md5(directory: Path) -> str:
    entries = sorted(
        (
            {"md5": file_md5(path), "relpath": path.relative_to(directory).as_posix()}
            for path in _files_under(directory)
        ),
        key=lambda entry: entry["relpath"],
    )
    manifest = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(manifest, usedforsecurity=False).hexdigest() + ".dir"


def content_md5(path: Path) -> str:
    if path.is_dir():
        return dir_md5(path)
    if path.is_file():
        return file_md5(path)
    raise FileNotFoundError(f"input data {path} does not exist")


def find_dvc_root(start: Path) -> Path | None:
    """The nearest ancestor holding a ``.dvc`` folder: where DVC's records for ``start`` live."""
    here = start.resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
    return None


def find_dvc_locks(root: Path) -> list[Path]:
    """Every dvc.lock under ``root``; hidden folders (.git, .dvc, caches) are not searched."""
    locks: list[Path] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith(".") and name not in _SKIPPED_DIRS)
        if "dvc.lock" in files:
            locks.append(Path(current) / "dvc.lock")
    return locks


def _read_yaml(path: Path) -> Any:
    """A broken metadata file costs its records, not the run: the hash is then computed instead."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        _logger.warning("ignoring unreadable DVC metadata %s: %s", path, error)
        return None


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _records(entries: object, base: Path, *, is_output: bool, origin: Path) -> Iterator[_Record]:
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        md5 = entry.get("md5")
        if isinstance(md5, str) and md5:
            yield _Record(
                path=(base / entry["path"]).resolve(),
                md5=md5,
                size=_optional_int(entry.get("size")),
                nfiles=_optional_int(entry.get("nfiles")),
                is_output=is_output,
                origin=origin,
            )


def _stage_wdirs(dvc_yaml: Path) -> dict[str, str]:
    """dvc.lock paths are relative to each stage's ``wdir``, which only dvc.yaml records."""
    data = _read_yaml(dvc_yaml) if dvc_yaml.is_file() else None
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return {}
    return {
        name: stage["wdir"]
        for name, stage in stages.items()
        if isinstance(stage, dict) and isinstance(stage.get("wdir"), str)
    }


def lock_records(lock: Path) -> list[_Record]:
    data = _read_yaml(lock)
    if not isinstance(data, dict):
        return []
    stages = data.get("stages") if "schema" in data else data  # schema 1 had stages at the top
    if not isinstance(stages, dict):
        return []
    wdirs = _stage_wdirs(lock.with_name("dvc.yaml"))
    records: list[_Record] = []
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        base = lock.parent / wdirs.get(str(name).split("@", 1)[0], ".")  # foreach stages: name@key
        records.extend(_records(stage.get("outs"), base, is_output=True, origin=lock))
        records.extend(_records(stage.get("deps"), base, is_output=False, origin=lock))
    return records


def pointer_records(path: Path) -> list[_Record]:
    pointer = path.with_name(path.name + ".dvc")
    data = _read_yaml(pointer) if pointer.is_file() else None
    if not isinstance(data, dict):
        return []
    base = pointer.parent / str(data.get("wdir", "."))
    return list(_records(data.get("outs"), base, is_output=True, origin=pointer))


def _still_describes(record: _Record, path: Path) -> bool:
    """Size (and file count) catch most edits made since DVC wrote the record, at the cost of a stat."""
    if path.is_file():
        return not record.md5.endswith(".dir") and record.size in (None, path.stat().st_size)
    files = _files_under(path)
    return (
        record.md5.endswith(".dir")
        and record.nfiles in (None, len(files))
        and record.size in (None, sum(file.stat().st_size for file in files))
    )


class DvcRecords:
    """DVC's md5 records from a set of dvc.lock files, looked up by resolved path."""

    def __init__(self, locks: Iterable[Path]) -> None:
        self._by_path: dict[Path, list[_Record]] = {}
        for lock in locks:
            for record in lock_records(lock):
                self._by_path.setdefault(record.path, []).append(record)

    def lookup(self, path: Path) -> DataHash | None:
        """A ``.dvc`` pointer first, then the stage that wrote the data, then stages that read it."""
        resolved = path.resolve()
        candidates = pointer_records(path) + sorted(
            self._by_path.get(resolved, []), key=lambda record: not record.is_output
        )
        for record in candidates:
            if record.path == resolved and _still_describes(record, resolved):
                return DataHash(md5=record.md5, source=str(record.origin))
        return None


def data_hash(path: Path, *, records: DvcRecords | None = None) -> DataHash:
    if not path.exists():
        raise FileNotFoundError(f"input data {path} does not exist")
    found = records.lookup(path) if records is not None else DvcRecords(()).lookup(path)
    return found or DataHash(md5=content_md5(path), source="computed")


def data_hashes(paths: Sequence[Path], *, dvc_locks: Sequence[Path] | None = None) -> list[DataHash]:
    """Hashes in input order; without explicit ``dvc_locks``, every dvc.lock of each path's DVC repo."""
    if dvc_locks is not None:
        shared = DvcRecords(dvc_locks)
        return [data_hash(path, records=shared) for path in paths]
    by_root: dict[Path | None, DvcRecords] = {}
    hashes: list[DataHash] = []
    for path in paths:
        root = find_dvc_root(path.parent)
        if root not in by_root:
            by_root[root] = DvcRecords(find_dvc_locks(root) if root is not None else ())
        hashes.append(data_hash(path, records=by_root[root]))
    return hashes
