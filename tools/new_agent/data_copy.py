"""Brings a dataset under DVC as an agent's own input: a Parquet copy under `data/<agent>/input/`,
tracked with `dvc add` (DVC's way for a local file; data in S3 or a database comes in through an
ingest stage instead, see the README). The user's file is only read, never moved or changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tools.new_agent.dataset import copy_as_parquet

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
}


class DataCopyError(Exception):
    """The copy or `dvc add` failed; what was copied has been removed again."""


def _dvc_add(root: Path, relative: str) -> None:
    """`dvc add relative` in the repository at ``root``, through DVC's Python API (no shell-out)."""
    os.environ.update(TELEMETRY_OFF)
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            repo.add(relative)
    except DvcException as error:
        raise DataCopyError(f"dvc add {relative} failed: {error}") from error


def add_copy(root: Path, source: Path, relative: str) -> None:
    """Copies ``source`` to ``root/relative`` as Parquet and runs `dvc add` on it."""
    destination = root / relative
    folder = destination.parent
    try:
        copy_as_parquet(source, destination)
        _dvc_add(root, relative)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def remove_copy(root: Path, relative: str) -> None:
    """Undoes `add_copy` (its folder holds nothing else), when the agent's files cannot be written."""
    shutil.rmtree((root / relative).parent, ignore_errors=True)
