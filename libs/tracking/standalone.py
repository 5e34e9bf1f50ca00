"""Whether a registered model stands on its own: the check behind each agent's registered-model test.

The model is logged and registered as the register stage does it, made champion, downloaded from
the registry, then loaded with ``mlflow.pyfunc.load_model`` in a separate Python process whose
working directory is outside this repository and whose ``sys.path`` holds none of its sources:
only the packages installed beside MLflow and what the model itself carries (``code_paths``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow

from libs.settings import Settings
from libs.tracking.lineage import Lineage
from libs.tracking.models import log_sklearn_model
from libs.tracking.registry import promote, register_model
from libs.tracking.run import tracked_run
from libs.tracking.uris import pointed_at

# Runs in the child: drop every sys.path entry holding the repository's packages, prove they are
# gone, then load the model and predict on the input example MLflow stored with it.
_LOAD_AND_PREDICT = """
import importlib.util, json, sys
from pathlib import Path
sys.path[:] = [entry for entry in sys.path
               if not any((Path(entry or ".") / top).is_dir() for top in ("agents", "libs"))]
assert importlib.util.find_spec("agents") is None and importlib.util.find_spec("libs") is None, sys.path
import mlflow.pyfunc
from mlflow.models import Model
model_dir = sys.argv[1]
example = Model.load(model_dir).load_input_example(model_dir)
predictions = mlflow.pyfunc.load_model(model_dir).predict(example)
print(json.dumps([float(value) for value in predictions]))
"""


def predict_outside_checkout(model: object, name: str, input_example: Any, scratch: Path) -> list[float]:
    """The champion's predictions on ``input_example``, from a process that cannot import this repo."""
    home = scratch / "mlflow"
    home.mkdir(parents=True)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    settings = Settings(home=home, mlflow_tracking_uri=uri, mlflow_registry_uri=uri)
    lineage = Lineage(git_commit="0" * 40, git_dirty=False)
    with tracked_run("standalone", params={}, lineage=lineage, settings=settings) as run:
        log_sklearn_model(model, name="model", input_example=input_example)
    version = register_model(run.info.run_id, "model", name, settings=settings)
    promote(name, version.version, settings=settings)
    with pointed_at(settings):
        model_dir = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}@champion", dst_path=str(scratch / "downloaded")
        )
    outside = scratch / "elsewhere"
    outside.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_PREDICT, model_dir],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"{name} did not load outside the repository:\n{result.stderr[-4000:]}")
    predictions: list[float] = json.loads(result.stdout.strip().splitlines()[-1])
    return predictions
