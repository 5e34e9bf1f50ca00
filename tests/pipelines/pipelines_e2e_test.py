"""The real pipelines end to end on tiny data: real DVC, real MLflow on a temporary SQLite store.

Stages run the agents' packaged PEXes (built by Pants as runtime package dependencies), exactly
as `pipelines/stage` runs them when MLOPS_STAGE_PEX_DIR is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

MODELS = {
    "agent1": "agent1-transaction-sentinel",
    "agent2": "agent2-demand-forecaster",
    "agent3": "agent3-churn-classifier",
}
TINY_WORLD = {"seed": 7, "n_customers": 300, "n_transactions": 12_000, "n_days": 240, "drift": False}
COPIED = ["pipelines", "agents", "libs", ".dvcignore"]


def run(
    args: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def dvc(repo: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "dvc", *args], repo, env, check=check)


def stages_run(output: str) -> set[str]:
    """Stages DVC executed, from its 'Running stage' lines."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


def edit_params(path: Path, section: str, key: str, value: object) -> None:
    params = yaml.safe_load(path.read_text())
    params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    sandbox = Path.cwd()
    repo = tmp_path_factory.mktemp("repo")
    for name in COPIED:
        source = sandbox / name
        if source.is_dir():
            shutil.copytree(source, repo / name)
        else:
            shutil.copy(source, repo / name)
    (repo / "pants.toml").write_text('[GLOBAL]\npants_version = "2.17.1"\n')
    for key, value in TINY_WORLD.items():
        edit_params(repo / "pipelines/data/params.yaml", "data", key, value)
    edit_params(repo / "pipelines/agent1/params.yaml", "train", "n_estimators", 50)
    edit_params(repo / "pipelines/agent2/params.yaml", "train", "max_iter", 60)
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("MLOPS_")},
        "MLOPS_HOME": str(repo / ".local"),
        "MLOPS_STAGE_PEX_DIR": str(sandbox),
        "MLOPS_STAGE_PYTHON": sys.executable,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    run(["git", "init", "-q"], repo, env)
    dvc(repo, env, "init", "-q")
    dvc(repo, env, "remote", "add", "-d", "local", str(repo / ".local" / "dvc-remote"))
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "tiny world"], repo, env)
    yield repo, env


@pytest.fixture(scope="module")
def first_run(workspace: tuple[Path, dict[str, str]]) -> subprocess.CompletedProcess[str]:
    repo, env = workspace
    return dvc(repo, env, "repro", "-P")


def registry(repo: Path) -> MlflowClient:
    uri = f"sqlite:///{repo / '.local' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion_version(repo: Path, agent: str) -> str:
    return str(registry(repo).get_model_version_by_alias(MODELS[agent], "champion").version)


def test_first_run_trains_registers_and_beats_baselines(
    workspace: tuple[Path, dict[str, str]], first_run: subprocess.CompletedProcess[str]
) -> None:
    repo, env = workspace
    client = registry(repo)
    for agent, model_name in MODELS.items():
        version = client.get_model_version_by_alias(model_name, "champion")
        assert version.run_id, f"{model_name} champion has no run"
        run_tags = client.get_run(version.run_id).data.tags
        assert run_tags["lineage.git_commit"] not in ("", "unknown")
        assert run_tags["lineage.lockfile_sha256"]
        assert any(tag.startswith("lineage.data_hash.") for tag in run_tags), run_tags
        assert client.get_run(version.run_id).data.params, f"{agent} logged no params"
    metrics = {agent: json.loads((repo / "data" / agent / "metrics.json").read_text()) for agent in MODELS}
    assert metrics["agent1"]["model"]["precision_at_k"] > 2 * metrics["agent1"]["baseline"]["precision_at_k"]
    assert metrics["agent2"]["model"]["mae"] < metrics["agent2"]["baseline"]["mae"]
    assert metrics["agent3"]["model"]["roc_auc"] > metrics["agent3"]["baseline"]["roc_auc"]
    for agent, model_name in MODELS.items():
        exported = json.loads((repo / "agents" / agent / "champion" / "champion.json").read_text())
        assert exported == {"model_name": model_name, "model_version": champion_version(repo, agent)}
        assert (repo / "agents" / agent / "champion" / "model.skops").stat().st_size > 0
    scores = pd.read_parquet(repo / "data/agent1/scores.parquet")
    assert scores["model_version"].eq(champion_version(repo, "agent1")).all()
    dvc(repo, env, "push")
    assert any((repo / ".local" / "dvc-remote").rglob("*")), "dvc push stored nothing in the local remote"


def test_second_run_reruns_nothing(workspace: tuple[Path, dict[str, str]], first_run: object) -> None:
    repo, env = workspace
    result = dvc(repo, env, "repro", "-P")
    assert stages_run(result.stdout) == set(), result.stdout


def test_agent3_param_change_reruns_only_agent3(
    workspace: tuple[Path, dict[str, str]], first_run: object
) -> None:
    repo, env = workspace
    edit_params(repo / "pipelines/agent3/params.yaml", "train", "regularization", 0.5)
    result = dvc(repo, env, "repro", "-P")
    assert stages_run(result.stdout) == {
        "pipelines/agent3/dvc.yaml:train",
        "pipelines/agent3/dvc.yaml:evaluate",
        "pipelines/agent3/dvc.yaml:register",
        "pipelines/agent3/dvc.yaml:export",
    }, result.stdout


def test_gate_keeps_champion_unless_challenger_beats_it_by_margin(
    workspace: tuple[Path, dict[str, str]], first_run: object
) -> None:
    repo, env = workspace
    params = repo / "pipelines/agent3/params.yaml"
    before = champion_version(repo, "agent3")

    edit_params(params, "gate", "margin", 1.0)  # AUC cannot improve by 1.0: rejected
    dvc(repo, env, "repro", "pipelines/agent3/dvc.yaml:register")
    decision = json.loads((repo / "data/agent3/registration.json").read_text())
    assert decision["promoted"] is False
    assert "margin" in decision["reason"]
    assert champion_version(repo, "agent3") == before

    edit_params(params, "gate", "margin", -1.0)  # any challenger passes
    dvc(repo, env, "repro", "pipelines/agent3/dvc.yaml:register")
    decision = json.loads((repo / "data/agent3/registration.json").read_text())
    assert decision["promoted"] is True
    assert champion_version(repo, "agent3") == decision["challenger_version"] != before


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
    ],
)
def test_bad_raw_data_stops_at_validation_and_loses_nothing(
    workspace: tuple[Path, dict[str, str]], first_run: object, defect: str, named: str
) -> None:
    repo, env = workspace
    raw = repo / "data/raw/customers.parquet"
    original = raw.read_bytes()
    features = repo / "data/agent3/features.parquet"
    features_hash = sha256(features)
    report = repo / "data/agent3/validation.json"
    report_hash = sha256(report)
    champion_before = champion_version(repo, "agent3")
    customers = corrupt(pd.read_parquet(raw), defect)
    raw.chmod(0o644)
    raw.unlink()
    customers.to_parquet(raw)
    try:
        # New raw data arrived: rerun agent3 from validation on (a plain `repro` would first
        # regenerate data/raw, the data stage's output, and undo the edit).
        result = dvc(repo, env, "repro", "--downstream", "pipelines/agent3/dvc.yaml:validate", check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "customers" in output
        assert "input rejected" in output
        assert named in output, output
        assert stages_run(result.stdout) <= {"pipelines/agent3/dvc.yaml:validate"}
        assert sha256(features) == features_hash
        assert sha256(report) == report_hash, "the last good validation report was lost"
        assert champion_version(repo, "agent3") == champion_before
    finally:
        raw.unlink()
        raw.write_bytes(original)
