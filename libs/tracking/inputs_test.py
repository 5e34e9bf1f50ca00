from __future__ import annotations

import hashlib
from pathlib import Path

from mlflow import MlflowClient

from libs.settings import Settings, disable_telemetry
from libs.tracking import collect_lineage, log_data_inputs, log_evaluation_metrics, tracked_run
from libs.tracking.inputs import numeric_leaves

disable_telemetry()

METRICS = {
    "model": {"roc_auc": 0.87},
    "baseline": {"name": "logistic regression on recency_days", "roc_auc": 0.71},
    "auc_gain_over_baseline": 0.16,
    "holdout_rows": 120,
    "promoted": True,
}


def test_every_number_of_a_metrics_file_is_a_dotted_metric() -> None:
    assert dict(numeric_leaves(METRICS)) == {
        "model.roc_auc": 0.87,
        "baseline.roc_auc": 0.71,
        "auc_gain_over_baseline": 0.16,
        "holdout_rows": 120.0,
    }


def test_inputs_are_datasets_with_the_lineage_hash_as_digest(tmp_path: Path) -> None:
    data = tmp_path / "data" / "raw" / "customers.parquet"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"customers")
    (tmp_path / "pants.toml").write_text("")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(home=tmp_path, mlflow_tracking_uri=uri, mlflow_registry_uri=uri)
    lineage = collect_lineage(input_paths=[data], repo=tmp_path)

    with tracked_run("inputs-test", params={}, lineage=lineage, settings=settings) as run:
        log_data_inputs([data], lineage)
        log_evaluation_metrics(METRICS)

    logged = MlflowClient(tracking_uri=uri).get_run(run.info.run_id)
    assert logged.inputs is not None
    [dataset_input] = logged.inputs.dataset_inputs
    dataset = dataset_input.dataset
    assert dataset.name == "data/raw/customers.parquet"
    assert dataset.digest == hashlib.md5(b"customers", usedforsecurity=False).hexdigest()
    assert str(data) in dataset.source
    assert [tag.value for tag in dataset_input.tags if tag.key == "mlflow.data.context"] == ["training"]
    assert logged.data.metrics["model.roc_auc"] == 0.87
    assert logged.data.metrics["baseline.roc_auc"] == 0.71
