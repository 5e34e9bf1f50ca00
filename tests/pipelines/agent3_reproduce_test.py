"""`cli reproduce`: agent3's champion rebuilds from its lineage in a temporary clone, on tiny data;
a tampered lineage tag or a changed param is caught with its own exit code (libs/tracking/reproduce.py)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.pipelines.workspace import MODELS, Workspace, make_workspace, run

CLI_PEX = Path.cwd() / "libs.tracking" / "cli.pex"
MODEL = MODELS["agent3"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """agent3 trained to a champion on tiny data, its inputs pushed to the workspace's DVC remote."""
    workspace = make_workspace(tmp_path_factory.mktemp("repo"), agents=("agent3",))
    workspace.dvc("repro", "-P")
    workspace.dvc("push")
    return workspace


def reproduce(workspace: Workspace, *extra: str) -> subprocess.CompletedProcess[str]:
    dvc = shlex.join([sys.executable, "-m", "dvc"])
    args = [sys.executable, str(CLI_PEX), "reproduce", MODEL, "--repo", str(workspace.repo), "--dvc", dvc]
    return run(
        [*args, "--stage-pex-dir", str(Path.cwd()), *extra], workspace.repo, workspace.env, check=False
    )


def champion_run(workspace: Workspace) -> str:
    return str(workspace.registry().get_model_version_by_alias(MODEL, "champion").run_id)


@contextmanager
def tampered_tag(workspace: Workspace, key: str, value: str) -> Iterator[None]:
    client, run_id = workspace.registry(), champion_run(workspace)
    original = client.get_run(run_id).data.tags[key]
    client.set_tag(run_id, key, value)
    try:
        yield
    finally:
        client.set_tag(run_id, key, original)


def test_the_champion_reproduces_exactly_and_prints_both_metric_sets(workspace: Workspace) -> None:
    registry_before = workspace.registry_snapshot()
    result = reproduce(workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproduced, tolerance 0.0" in result.stdout, result.stdout
    row = next(line.split() for line in result.stdout.splitlines() if line.split()[:1] == ["model.roc_auc"])
    assert row[1] == row[2], result.stdout  # recorded == reproduced, to the last digit
    assert workspace.registry_snapshot() == registry_before, "reproducing registered something"


@pytest.mark.parametrize(
    ("tag", "value", "named"),
    [
        ("lineage.git_commit", "0" * 40, "unknown to the repository"),
        ("lineage.git_dirty", "true", "dirty tree"),
        ("lineage.data_hash.data/raw/customers.parquet", "0" * 32, "missing from the DVC remote"),
    ],
)
def test_a_tampered_lineage_tag_cannot_be_followed(
    workspace: Workspace, tag: str, value: str, named: str
) -> None:
    with tampered_tag(workspace, tag, value):
        result = reproduce(workspace)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr, result.stderr


def test_a_changed_param_reproduces_different_metrics(workspace: Workspace, tmp_path: Path) -> None:
    client, run_id = workspace.registry(), champion_run(workspace)
    logged = Path(client.download_artifacts(run_id, "params/params.yaml", str(tmp_path)))
    original = logged.read_text()
    params = yaml.safe_load(original)
    params["train"]["regularization"] = 0.0005
    changed = tmp_path / "changed" / "params.yaml"
    changed.parent.mkdir()
    changed.write_text(yaml.safe_dump(params, sort_keys=False))
    client.log_artifact(run_id, str(changed), "params")
    try:
        result = reproduce(workspace)
    finally:
        restored = tmp_path / "restored" / "params.yaml"
        restored.parent.mkdir()
        restored.write_text(original)
        client.log_artifact(run_id, str(restored), "params")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "NOT reproduced" in result.stdout and "DIFFERS" in result.stdout, result.stdout
