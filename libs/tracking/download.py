"""A registered version's MLflow model, copied out of the registry into a folder of the user's choice.

What a team hands to a consumer that is not this repository: the folder holds ``MLmodel``, the
skops file, ``requirements.txt`` and the repository code the model needs (``code_paths``), so
``pip install -r requirements.txt`` and ``mlflow.pyfunc.load_model(folder)`` are all it takes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion

from libs.settings import Settings
from libs.tracking.errors import ModelNotFoundError, TrackingError
from libs.tracking.registry import current_champion, model_version
from libs.tracking.uris import client_for, resolve_settings


def chosen_version(name: str, version: str | None, settings: Settings) -> ModelVersion:
    """The named version, or the champion when none is named."""
    client = client_for(settings)
    if version is not None:
        return model_version(client, name, version)
    found = current_champion(client, name)
    if found is None:
        raise ModelNotFoundError(f"'{name}' has no champion; name a version with --version")
    return found


def download_model(
    name: str, destination: Path, *, version: str | None = None, settings: Settings | None = None
) -> tuple[ModelVersion, Path]:
    """Copies the version's model folder to ``destination`` (absent or empty: nothing is overwritten)."""
    resolved = resolve_settings(settings)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise TrackingError(f"{destination} exists and is not an empty folder; choose a new one")
    found = chosen_version(name, version, resolved)
    uri = client_for(resolved).get_model_version_download_uri(name, str(found.version))
    destination.mkdir(parents=True, exist_ok=True)
    # MLflow copies the artifact folder *into* dst_path; its contents go into the destination itself.
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".download-") as scratch:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=scratch, tracking_uri=resolved.mlflow_tracking_uri
            )
        )
        for item in local.iterdir():
            shutil.move(str(item), str(destination / item.name))
    return found, destination
