"""One way to start an MLflow run: right store, experiment created on demand, params and lineage logged."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import mlflow
from mlflow import ActiveRun, MlflowClient
from mlflow.entities import LifecycleStage
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

from libs.settings import Settings
from libs.tracking.errors import TrackingError
from libs.tracking.lineage import Lineage
from libs.tracking.params import flatten_params
from libs.tracking.uris import artifact_location_for, client_for, pointed_at


def ensure_experiment(client: MlflowClient, name: str, settings: Settings) -> str:
    """The experiment's id, creating it if missing; a concurrent creator winning the race is fine."""
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return str(client.create_experiment(name, artifact_location=artifact_location_for(settings)))
        except MlflowException as error:
            if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    if found.lifecycle_stage == LifecycleStage.DELETED:
        raise TrackingError(
            f"experiment '{name}' is deleted; restore it (mlflow experiments restore) or use another name"
        )
    return str(found.experiment_id)


@contextmanager
def tracked_run(
    experiment: str,
    *,
    run_name: str | None = None,
    params: Mapping[str, Any],
    lineage: Lineage,
    settings: Settings | None = None,
) -> Iterator[ActiveRun]:
    """Yields the active run; an exception marks it FAILED and propagates, otherwise it ends FINISHED.

    Params logged are the lineage's params overlaid with ``params``, both flattened to dotted keys.
    MLflow's URIs point at the settings' stores only for the duration of the block.
    """
    with pointed_at(settings) as resolved:
        experiment_id = ensure_experiment(client_for(resolved), experiment, resolved)
        # MLflow's ActiveRun ends the run FAILED when the block raises, and re-raises.
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=lineage.as_tags()) as run:
            mlflow.log_params({**lineage.params, **flatten_params(params)})
            yield run
