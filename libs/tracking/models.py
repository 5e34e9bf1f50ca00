"""Models go into MLflow as skops files and come back under the project's trust policy.

MLflow would load a skops model trusting whatever types the artifact's own MLmodel file lists, and
would unpickle pickle-format models. Here the loader decides: skops only, and only the types
``libs.modelfiles`` trusts.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Any

import mlflow
import skops.io as sio
from mlflow.models import Model
from mlflow.models.model import ModelInfo

from libs.codeclosure import copy_model_code
from libs.modelfiles import UntrustedModelError, loads_model, trusted_types
from libs.settings import Settings
from libs.tracking.artifacts import download_artifacts_to
from libs.tracking.uris import client_for, resolve_settings

SKOPS = "skops"


# What the estimator computes with besides scikit-learn: pinned too, so a consumer's venv predicts
# with the numerics it was trained and gated with, not whatever pip resolves that day.
NUMERIC_STACK = ("numpy", "scipy", "pandas")


def model_requirements() -> list[str]:
    """The flavor's pins (scikit-learn, skops; MLflow adds itself) and the numeric stack's."""
    pins = mlflow.sklearn.get_default_pip_requirements(include_skops=True)
    return [*pins, *(f"{name}=={distribution_version(name)}" for name in NUMERIC_STACK)]


def log_sklearn_model(model: object, *, name: str = "model", input_example: Any = None) -> ModelInfo:
    """Logs into the active run; pip requirements are the flavor's pins, not inferred in a subprocess.

    The repository's own classes the model holds travel with it as ``code_paths`` (their modules
    and what those import), so ``mlflow.pyfunc.load_model`` works outside this checkout.
    """
    trusted = trusted_types(sio.get_untrusted_types(data=sio.dumps(model)))
    with tempfile.TemporaryDirectory(prefix="libs-tracking-code-") as scratch:
        code_paths = [str(path) for path in copy_model_code(trusted, Path(scratch))]
        return mlflow.sklearn.log_model(
            model,
            name=name,
            serialization_format=SKOPS,
            skops_trusted_types=trusted or None,
            input_example=input_example,
            pip_requirements=model_requirements(),
            code_paths=code_paths or None,
        )


def _load_skops_model(model_dir: Path) -> object:
    flavor = Model.load(str(model_dir / "MLmodel")).flavors.get("sklearn")
    if not flavor or flavor.get("serialization_format") != SKOPS:
        raise UntrustedModelError(
            f"model at {model_dir} is not an sklearn model in skops format; refusing to load"
        )
    path = (model_dir / str(flavor["pickled_model"])).resolve()
    if not path.is_relative_to(model_dir.resolve()):
        raise UntrustedModelError(f"model file {path} lies outside its model directory")
    return loads_model(path.read_bytes())


def load_sklearn_model(name: str, version: str | int, *, settings: Settings | None = None) -> object:
    """The registered version's estimator, downloaded to a temporary folder and loaded with skops."""
    resolved = resolve_settings(settings)
    uri = client_for(resolved).get_model_version_download_uri(name, str(version))
    with tempfile.TemporaryDirectory(prefix="libs-tracking-model-") as scratch:
        download_artifacts_to(uri, Path(scratch) / "model", resolved)
        return _load_skops_model(Path(scratch) / "model")
