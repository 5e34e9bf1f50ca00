"""Model files in skops format, written atomically and loaded under the project's trust policy."""

from __future__ import annotations

from pathlib import Path

import skops.io as sio

from libs.atomicfiles import atomic_write_bytes
from libs.modelfiles.canonical import canonical_skops
from libs.modelfiles.policy import trusted_types


def dumps_model(model: object) -> bytes:
    """The model as skops bytes that depend only on the model: equal models give equal files."""
    return canonical_skops(sio.dumps(model))


def save_model(model: object, path: Path) -> Path:
    return atomic_write_bytes(dumps_model(model), path)


def loads_model(data: bytes) -> object:
    return sio.loads(data, trusted=trusted_types(sio.get_untrusted_types(data=data)))


def load_model(path: Path) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    return loads_model(path.read_bytes())
