"""An MLflow artifact folder copied out all or nothing, into a folder that is new or empty.

It is downloaded beside the destination and renamed into place in one step, so a failed or
concurrent download never leaves a half-written or mixed folder behind.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import mlflow

from libs.settings import Settings
from libs.tracking.errors import TrackingError


def _refuse_taken(destination: Path) -> None:
    if destination.is_file() or destination.is_symlink():
        raise TrackingError(f"{destination} is a file; name a new folder")
    if destination.is_dir() and any(destination.iterdir()):
        raise TrackingError(f"{destination} exists and is not an empty folder; choose a new one")


def download_artifacts_to(uri: str, destination: Path, settings: Settings) -> None:
    """The artifact folder ``uri``'s contents as ``destination``, which must not exist or be empty."""
    _refuse_taken(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=destination.parent, prefix=f".{destination.name}.download-"
    ) as scratch:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=scratch, tracking_uri=settings.mlflow_tracking_uri
        )
        try:
            # rename(2) replaces an empty folder and refuses a non-empty one: one atomic step.
            os.rename(local, destination)
        except OSError as error:
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                _refuse_taken(destination)
            raise
