"""agent3's pipeline end to end on tiny data: the gate both ways, and every bad-data case stopped
at validation with nothing lost."""

from __future__ import annotations

import io
import json
import subprocess

import pandas as pd
import pytest

from tests.pipelines.workspace import (
    Workspace,
    edit_params,
    make_workspace,
    sha256,
    stages_run,
    training_stages,
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("repo"), agents=("agent3",))


@pytest.fixture(scope="module")
def first_run(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    return workspace.dvc("repro", "-P")


def test_first_run_registers_a_champion_that_beats_one_feature_baseline(
    workspace: Workspace, first_run: object
) -> None:
    workspace.assert_champion_with_lineage("agent3")
    metrics = workspace.metrics("agent3")
    assert metrics["model"]["roc_auc"] > metrics["baseline"]["roc_auc"], metrics


def test_second_run_reruns_nothing(workspace: Workspace, first_run: object) -> None:
    result = workspace.dvc("repro", "-P")
    assert stages_run(result.stdout) == set(), result.stdout


def test_retraining_on_the_same_inputs_writes_the_same_model(workspace: Workspace, first_run: object) -> None:
    workspace.assert_retraining_writes_the_same_model("agent3")


def test_a_change_to_agent3_stages_makes_its_stages_stale(workspace: Workspace, first_run: object) -> None:
    workspace.assert_code_change_makes_every_stage_stale("agent3")


def test_agent3_param_change_reruns_only_agent3_training_stages(
    workspace: Workspace, first_run: object
) -> None:
    edit_params(workspace.params("agent3"), "train", "regularization", 0.5)
    result = workspace.dvc("repro", "-P")
    assert stages_run(result.stdout) == training_stages("agent3"), result.stdout


def registration(workspace: Workspace) -> dict[str, object]:
    decision: dict[str, object] = json.loads((workspace.repo / "data/agent3/registration.json").read_text())
    return decision


def test_gate_keeps_champion_unless_challenger_beats_it_by_margin(
    workspace: Workspace, first_run: object
) -> None:
    before = workspace.champion_version("agent3")

    edit_params(workspace.params("agent3"), "gate", "margin", 1.0)  # AUC cannot improve by 1.0: rejected
    workspace.dvc("repro", "pipelines/agent3/dvc.yaml:register")
    decision = registration(workspace)
    assert decision["promoted"] is False
    assert "margin" in str(decision["reason"])
    assert workspace.champion_version("agent3") == before

    edit_params(workspace.params("agent3"), "gate", "margin", -1.0)  # any challenger passes
    workspace.dvc("repro", "pipelines/agent3/dvc.yaml:register")
    decision = registration(workspace)
    assert decision["promoted"] is True
    assert workspace.champion_version("agent3") == decision["challenger_version"] != before


def corrupt(customers: pd.DataFrame, defect: str) -> pd.DataFrame:
    """The customers table with one defect; each must be caught by the validate stage."""
    customers = customers.copy()
    if defect == "wrong_dtype":
        customers["customer_id"] = customers["customer_id"].astype(str)
    elif defect == "missing_column":
        customers = customers.drop(columns="segment")
    elif defect == "nulls":
        customers["segment"] = customers["segment"].astype("object")
        customers.loc[customers.index[:3], "segment"] = None
    elif defect == "out_of_range":
        customers.loc[customers.index[:2], "home_store_id"] = -1
    elif defect == "duplicate_keys":
        customers.loc[customers.index[1], "customer_id"] = customers["customer_id"].iloc[0]
    elif defect == "empty":
        customers = customers.iloc[0:0]
    return customers


@pytest.mark.parametrize(
    ("defect", "named"),
    [
        ("wrong_dtype", "customer_id"),
        ("missing_column", "segment"),
        ("nulls", "segment"),
        ("out_of_range", "home_store_id"),
        ("duplicate_keys", "customer_id"),
        ("empty", "empty"),
        ("truncated", "truncated"),
    ],
)
def test_bad_raw_data_stops_at_validation_and_loses_nothing(
    workspace: Workspace, first_run: object, defect: str, named: str
) -> None:
    repo = workspace.repo
    raw = repo / "data/raw/customers.parquet"
    original = raw.read_bytes()
    features = repo / "data/agent3/features.parquet"
    features_hash = sha256(features)
    report = repo / "data/agent3/validation.json"
    report_hash = sha256(report)
    registry_before = workspace.registry_snapshot()
    raw.chmod(0o644)
    raw.unlink()
    if defect == "truncated":
        raw.write_bytes(original[: len(original) // 2])
    else:
        corrupt(pd.read_parquet(io.BytesIO(original)), defect).to_parquet(raw)
    try:
        # New raw data arrived: rerun agent3 from validation on (a plain `repro` would first
        # regenerate data/raw, the data stage's output, and undo the edit).
        result = workspace.dvc("repro", "--downstream", "pipelines/agent3/dvc.yaml:validate", check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "customers" in output
        assert "input rejected" in output
        assert named in output, output
        assert stages_run(result.stdout) <= {"pipelines/agent3/dvc.yaml:validate"}
        assert sha256(features) == features_hash
        assert sha256(report) == report_hash, "the last good validation report was lost"
        assert workspace.registry_snapshot() == registry_before, "a rejected run changed the registry"
    finally:
        raw.unlink()
        raw.write_bytes(original)
