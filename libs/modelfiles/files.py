"""Model files in skops format, written atomically and loaded under the project's trust policy.

skops is imported by the functions that read or write a file: importing it walks every scikit-learn
estimator (about 1 s), which every pipeline stage and service that imports this package would pay,
whether it touches a model or not.
"""

from __future__ import annotations

from pathlib import Path

from libs.atomicfiles import atomic_write_bytes
from libs.modelfiles.canonical import canonical_skops
from libs.modelfiles.policy import trusted_types


def dumps_model(model: object) -> bytes:
    """The model as skops bytes that depend only on the model: equal models give equal files."""
    import skops.io as sio

    return canonical_skops(sio.dumps(model))


def save_model(model: object, path: Path) -> Path:
    return atomic_write_bytes(dumps_model(model), path)


def loads_model(data: bytes) -> object:
    import skops.io as sio

    return sio.loads(data, trusted=trusted_types(sio.get_untrusted_types(data=data)))


def load_model(path: Path) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    return loads_model(path.read_bytes())
