"""Stage-to-stage model files in skops format, loaded under the same trust policy as the registry.

Pickle runs arbitrary code on load; skops refuses unknown types unless told to trust them. The
policy (which types may be trusted) lives in ``libs.tracking.models`` so a model file between two
stages and a registered model are judged alike.
"""

from __future__ import annotations

from pathlib import Path

import skops.io as sio

from libs.tracking.models import project_trusted_types
from libs.warehouse import atomic_write_bytes


def save_model(model: object, path: Path) -> Path:
    return atomic_write_bytes(sio.dumps(model), path)


def load_model(path: Path) -> object:
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    data = path.read_bytes()
    return sio.loads(data, trusted=project_trusted_types(sio.get_untrusted_types(data=data)))
