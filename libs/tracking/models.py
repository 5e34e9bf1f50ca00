"""Models go into MLflow as skops files and come back trusting only known types.

MLflow would load a skops model trusting whatever types the artifact's own MLmodel file lists, and
would unpickle pickle-format models. Here the loader decides: skops only, and the only types
trusted beyond skops' defaults are scikit-learn's own (tree structures skops does not list) and
those defined in this repository (``agents.*``, ``libs.*``). Anything else is refused, not run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mlflow
import skops.io as sio
from mlflow.models import Model
from mlflow.models.model import ModelInfo

from libs.settings import Settings
from libs.tracking.errors import UntrustedModelError
from libs.tracking.uris import client_for, resolve_settings

TRUSTED_TYPE_PREFIXES = ("agents.", "libs.", "sklearn.")
# scikit-learn wraps its own functions in partial (e.g. HistGradientBoosting's preprocessor); skops
# checks the wrapped function separately, so trusting partial itself trusts no new code.
TRUSTED_TYPE_NAMES = frozenset({"functools.partial"})
SKOPS = "skops"


def project_trusted_types(untrusted: Iterable[str]) -> list[str]:
    """The types skops needs told to trust, provided every one is the project's or scikit-learn's."""
    names = sorted(set(untrusted))
    foreign = [
        name
        for name in names
        if not name.startswith(TRUSTED_TYPE_PREFIXES) and name not in TRUSTED_TYPE_NAMES
    ]
    if foreign:
        raise UntrustedModelError(
            f"model references types outside this project and scikit-learn: {', '.join(foreign)}"
        )
    return names


def log_sklearn_model(model: object, *, name: str = "model", input_example: Any = None) -> ModelInfo:
    """Logs into the active run; pip requirements are the flavor's pins, not inferred in a subprocess."""
    trusted = project_trusted_types(sio.get_untrusted_types(data=sio.dumps(model)))
    return mlflow.sklearn.log_model(
        model,
        name=name,
        serialization_format=SKOPS,
        skops_trusted_types=trusted or None,
        input_example=input_example,
        pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True),
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
    data = path.read_bytes()
    return sio.loads(data, trusted=project_trusted_types(sio.get_untrusted_types(data=data)))


def load_sklearn_model(name: str, version: str | int, *, settings: Settings | None = None) -> object:
    """The registered version's estimator, downloaded to a temporary folder and loaded with skops."""
    resolved = resolve_settings(settings)
    uri = client_for(resolved).get_model_version_download_uri(name, str(version))
    with tempfile.TemporaryDirectory(prefix="libs-tracking-model-") as scratch:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=scratch, tracking_uri=resolved.mlflow_tracking_uri
        )
        return _load_skops_model(Path(local))
