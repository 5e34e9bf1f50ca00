"""The champion bundle: the registered champion's model file and the identity it answers with.

Training ends with an ``export`` stage that writes the bundle into ``agents/<agent>/champion/``;
images copy it in and services load it, so a serving process needs neither MLflow nor the
registry, and every answer can name the model and version that gave it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from libs.atomicfiles import atomic_write_json
from libs.modelfiles import load_model, save_model
from libs.settings import find_project_root

MODEL_FILE = "model.skops"
IDENTITY_FILE = "champion.json"
CHAMPION_DIR_VARIABLE = "MLOPS_CHAMPION_DIR"


@dataclass(frozen=True)
class Champion:
    model: object
    model_name: str
    model_version: str


def write_champion(model: object, *, model_name: str, model_version: str, directory: Path) -> Path:
    """Model first, identity last: a reader never sees an identity whose model is not yet written."""
    save_model(model, directory / MODEL_FILE)
    atomic_write_json({"model_name": model_name, "model_version": model_version}, directory / IDENTITY_FILE)
    return directory


def champion_dir(agent: str) -> Path:
    """``MLOPS_CHAMPION_DIR`` if set (images set it), else ``agents/<agent>/champion`` in the repo."""
    configured = os.environ.get(CHAMPION_DIR_VARIABLE)
    if configured:
        return Path(configured)
    root = find_project_root() or Path.cwd()
    return root / "agents" / agent / "champion"


def load_champion(directory: Path) -> Champion:
    identity_path = directory / IDENTITY_FILE
    if not identity_path.is_file():
        raise FileNotFoundError(
            f"no champion bundle in {directory}: train and export first (./lifecycle), "
            f"or point {CHAMPION_DIR_VARIABLE} at one"
        )
    identity = json.loads(identity_path.read_text(encoding="utf-8"))
    return Champion(
        model=load_model(directory / MODEL_FILE),
        model_name=str(identity["model_name"]),
        model_version=str(identity["model_version"]),
    )
