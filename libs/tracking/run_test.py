from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

from libs.settings import Settings, disable_telemetry
from libs.tracking import Lineage, champion, tracked_run

disable_telemetry()

LINEAGE = Lineage(
    git_commit="f" * 40,
    git_dirty=False,
    data_hashes={"data/raw/customers.parquet": "a" * 32},
    lockfile_sha256="b" * 64,
    resolve="agent3",
    params={"data.seed": "7"},
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    return Settings(home=home, mlflow_tracking_uri=uri, mlflow_registry_uri=uri)


@pytest.fixture(autouse=True)
def _no_ambient_mlflow_uri(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    yield
    assert not is_tracking_uri_set(), "a test left MLflow pointed at its store"


def client(settings: Settings) -> MlflowClient:
    return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri)


def test_run_logs_flattened_params_and_lineage_tags(settings: Settings) -> None:
    params = {"train": {"max_iter": 60, "C": 0.5}}
    with tracked_run(
        "agent3", run_name="agent3-train", params=params, lineage=LINEAGE, settings=settings
    ) as run:
        assert mlflow.get_tracking_uri() == settings.mlflow_tracking_uri
        assert champion("absent-model") is None  # helpers without settings use the run's store
        run_id = run.info.run_id

    logged = client(settings).get_run(run_id)
    assert logged.info.status == "FINISHED"
    assert logged.info.run_name == "agent3-train"
    assert logged.data.params == {"train.max_iter": "60", "train.C": "0.5", "data.seed": "7"}
    assert {
        key: value for key, value in logged.data.tags.items() if key.startswith("lineage.")
    } == LINEAGE.as_tags()
    assert LINEAGE.as_tags()["lineage.data_hash.data/raw/customers.parquet"] == "a" * 32


def test_experiment_is_created_once_with_artifacts_beside_the_store(settings: Settings) -> None:
    for _ in range(2):
        with tracked_run("agent1", params={}, lineage=LINEAGE, settings=settings):
            pass
    experiment = client(settings).get_experiment_by_name("agent1")
    assert experiment is not None
    assert experiment.artifact_location == (settings.home / "mlartifacts").as_uri()
    assert len(client(settings).search_runs([experiment.experiment_id])) == 2


def test_exception_marks_the_run_failed_and_propagates(settings: Settings) -> None:
    with (
        pytest.raises(RuntimeError, match="training diverged"),
        tracked_run("agent2", params={}, lineage=LINEAGE, settings=settings) as run,
    ):
        raise RuntimeError("training diverged")
    assert client(settings).get_run(run.info.run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


def test_previous_mlflow_uri_is_restored(settings: Settings, tmp_path: Path) -> None:
    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"
    mlflow.set_tracking_uri(elsewhere)
    try:
        with tracked_run("agent2", params={}, lineage=LINEAGE, settings=settings):
            assert os.environ["MLFLOW_TRACKING_URI"] == settings.mlflow_tracking_uri
        assert mlflow.get_tracking_uri() == elsewhere
        assert os.environ["MLFLOW_TRACKING_URI"] == elsewhere
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    assert "MLFLOW_REGISTRY_URI" not in os.environ
