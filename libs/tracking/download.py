"""A registered version's MLflow model, copied out of the registry into a folder of the user's choice.

What a team hands to a consumer that is not this repository: the folder holds ``MLmodel``, the
skops file, ``requirements.txt`` and the repository code the model needs (``code_paths``), so a
CPython of the training version, ``pip install -r requirements.txt`` and
``mlflow.pyfunc.load_model(folder)`` are all it takes.

The copy is all or nothing (``libs.tracking.artifacts``).
"""

from __future__ import annotations

from pathlib import Path

from mlflow.entities.model_registry import ModelVersion

from libs.settings import Settings
from libs.tracking.artifacts import download_artifacts_to
from libs.tracking.registry import version_or_champion
from libs.tracking.uris import client_for, resolve_settings


def download_model(
    name: str, destination: Path, *, version: str | None = None, settings: Settings | None = None
) -> tuple[ModelVersion, Path]:
    """Copies the version's model folder (default: the champion's) to ``destination``."""
    resolved = resolve_settings(settings)
    client = client_for(resolved)
    found = version_or_champion(client, name, version)
    download_artifacts_to(
        client.get_model_version_download_uri(name, str(found.version)), destination, resolved
    )
    return found, destination
