from __future__ import annotations

import mlflow
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from libs.settings import Settings, disable_telemetry
from libs.tracking import Lineage, UntrustedModelError, load_sklearn_model, register_model, tracked_run

disable_telemetry()


def test_a_pickled_model_is_refused_not_unpickled(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    settings = Settings(home=home, mlflow_tracking_uri=uri, mlflow_registry_uri=uri)
    features = np.random.default_rng(5).normal(size=(50, 2))
    model = LogisticRegression().fit(features, (features[:, 1] > 0).astype(int))
    with tracked_run("pickle", params={}, lineage=Lineage(), settings=settings) as run:
        mlflow.sklearn.log_model(model, name="model", serialization_format="pickle", pip_requirements=[])
    version = register_model(run.info.run_id, "model", "pickled", settings=settings)

    with pytest.raises(UntrustedModelError, match="not an sklearn model in skops format"):
        load_sklearn_model("pickled", version.version, settings=settings)
