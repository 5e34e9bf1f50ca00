"""Model files in skops format, trusting only the project's own types and skops' defaults.

Pickle runs arbitrary code on load. skops refuses unknown types unless told to trust them; we
trust exactly the types defined in this repository (``agents.*``, ``libs.*``), so a model file
that names anything else is refused instead of executed.
"""

from __future__ import annotations

from pathlib import Path

import skops.io as sio

from libs.warehouse import atomic_write_bytes

PROJECT_TYPE_PREFIXES = ("agents.", "libs.")


class UntrustedModelError(ValueError):
    """A model file references types outside this project and skops' defaults."""


def save_model(model: object, path: Path) -> Path:
    return atomic_write_bytes(sio.dumps(model), path)


def trusted_types_for(data: bytes) -> list[str]:
    untrusted = sio.get_untrusted_types(data=data)
    foreign = [name for name in untrusted if not name.startswith(PROJECT_TYPE_PREFIXES)]
    if foreign:
        raise UntrustedModelError(f"model references types outside this project: {', '.join(sorted(foreign))}")
    return list(untrusted)


def load_model(path: Path) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    data = path.read_bytes()
    return sio.loads(data, trusted=trusted_types_for(data))
