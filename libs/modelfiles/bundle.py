"""The champion bundle: the registered champion's model file and the identity it answers with.

Below both serving (which loads and hot-reloads it) and monitoring (which compares its training
reference with live traffic), so neither imports the other.

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
from libs.modelfiles.files import load_model, save_model
from libs.settings import find_project_root

MODEL_FILE = "model.skops"
IDENTITY_FILE = "champion.json"
CHAMPION_DIR_VARIABLE = "MLOPS_CHAMPION_DIR"
SHADOW_SUBDIR = "shadow"  # the shadow's bundle, same format, inside the champion's folder


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


def shadow_dir(agent: str) -> Path:
    """The shadow's bundle: inside the champion's folder, so whatever ships the champion ships it too."""
    return champion_dir(agent) / SHADOW_SUBDIR


class BrokenChampion(Exception):
    """A champion bundle that is missing or cannot be loaded; the message names the file and why."""


def read_champion_bundle(directory: Path) -> Champion:
    """The bundle in ``directory``; any way it can be missing or corrupt is a ``BrokenChampion``."""
    identity_path = directory / IDENTITY_FILE
    if not identity_path.is_file():
        raise BrokenChampion(
            f"no champion bundle in {directory} ({identity_path.name} is missing): train and export first"
            f" (./lifecycle), or point {CHAMPION_DIR_VARIABLE} at one"
        )
    try:
        identity = json.loads(identity_path.read_text(encoding="utf-8"))
        model_name, model_version = str(identity["model_name"]), str(identity["model_version"])
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise BrokenChampion(f"{identity_path} is unreadable ({type(error).__name__}: {error})") from error
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise BrokenChampion(f"{model_path} is missing")
    try:
        model = load_model(model_path)
    except Exception as error:  # skops raises many kinds on a truncated or foreign file
        raise BrokenChampion(f"{model_path} cannot be loaded ({type(error).__name__}: {error})") from error
    return Champion(model=model, model_name=model_name, model_version=model_version)
