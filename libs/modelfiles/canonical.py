"""The same model, the same bytes: skops archives rewritten without the traces of when and where.

A skops file is a zip holding ``schema.json`` and one member per array. skops stamps each member
with the current time, names array members after the saving process's ``id()`` of the array (and
bytes members after a random UUID), and records those ids in the schema. So two saves of one
model differ, DVC sees every retrain as a new model, and a rebuild cannot be told from a change.
Here ids and member names are renumbered in the order the schema mentions them, members are
sorted by name and stamped with one fixed time; what skops reads back is unchanged.

Arrays of records (a tree's ``nodes``: seven 8-byte fields and a 1-byte flag in 64-byte records)
carry padding bytes that numpy leaves uninitialised, so they hold whatever memory held before: the
same model saved by two processes differed in them. Such arrays are rewritten with zeroed padding.
"""

from __future__ import annotations

import io
import json
import posixpath
import zipfile
from typing import Any

import numpy as np

SCHEMA = "schema.json"
# The earliest time a zip entry can hold; any fixed value would do.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # create_system: the zip's "made on" field, which zipfile sets per platform
_FILE_MODE = 0o644 << 16


class _Renumbering:
    """Maps each original id and member name to the next number, first mention first."""

    def __init__(self, members: set[str]) -> None:
        self.members = members
        self.ids: dict[int, int] = {}
        self.names: dict[str, str] = {}

    def visit(self, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int) and not isinstance(value, bool):
                    node[key] = self.ids.setdefault(value, len(self.ids))
                elif key == "file" and isinstance(value, str) and value in self.members:
                    node[key] = self.names.setdefault(value, self._new_name(value))
                else:
                    self.visit(value)
        elif isinstance(node, list):
            for item in node:
                self.visit(item)

    def _new_name(self, name: str) -> str:
        return f"{len(self.names)}{posixpath.splitext(name)[1]}"


def _entry(name: str, compress_type: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = compress_type
    info.create_system = _UNIX
    info.external_attr = _FILE_MODE
    return info


def canonical_skops(data: bytes) -> bytes:
    """``data`` (what ``skops.io.dumps`` returned) with ids, names, order and times made canonical."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        infos = {info.filename: info for info in source.infolist()}
        if SCHEMA not in infos:
            raise ValueError(f"not a skops file: no {SCHEMA} member")
        schema = json.loads(source.read(SCHEMA))
        renumbering = _Renumbering(set(infos) - {SCHEMA})
        renumbering.visit(schema)
        unreferenced = set(infos) - {SCHEMA} - set(renumbering.names)
        if unreferenced:
            raise ValueError(f"skops file has members its schema does not name: {sorted(unreferenced)}")
        members = {
            new: (_zeroed_padding(new, source.read(old)), infos[old].compress_type)
            for old, new in renumbering.names.items()
        }
        members[SCHEMA] = (json.dumps(schema, indent=2).encode("utf-8"), infos[SCHEMA].compress_type)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        for name in sorted(members):
            content, compress_type = members[name]
            target.writestr(_entry(name, compress_type), content)
    return output.getvalue()


def _zeroed_padding(name: str, content: bytes) -> bytes:
    """An ``.npy`` member of records with padding, rewritten with the padding bytes zeroed."""
    if not name.endswith(".npy"):
        return content
    array = np.load(io.BytesIO(content), allow_pickle=False)
    fields = array.dtype.fields
    if fields is None or array.dtype.itemsize == sum(field[0].itemsize for field in fields.values()):
        return content
    fortran = array.flags.f_contiguous and not array.flags.c_contiguous
    clean = np.zeros(array.shape, dtype=array.dtype, order="F" if fortran else "C")  # calloc: all bytes 0
    for field in fields:
        clean[field] = array[field]
    output = io.BytesIO()
    np.save(output, clean, allow_pickle=False)
    return output.getvalue()
