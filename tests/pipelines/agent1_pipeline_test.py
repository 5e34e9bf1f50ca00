"""agent1's pipeline end to end on tiny data: real DVC, real MLflow on a temporary SQLite store."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from tests.pipelines.workspace import Workspace, make_workspace, stages_run


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("repo"), agents=("agent1",))


@pytest.fixture(scope="module")
def first_run(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    return workspace.dvc("repro", "-P")


def test_first_run_registers_a_champion_that_beats_random(workspace: Workspace, first_run: object) -> None:
    workspace.assert_champion_with_lineage("agent1")
    metrics = workspace.metrics("agent1")
    assert metrics["model"]["precision_at_k"] > 2 * metrics["baseline"]["precision_at_k"], metrics


def test_scores_name_the_champion_that_made_them(workspace: Workspace, first_run: object) -> None:
    scores = pd.read_parquet(workspace.repo / "data/agent1/scores.parquet")
    assert len(scores) > 0
    assert scores["model_version"].eq(workspace.champion_version("agent1")).all()


def test_push_stores_data_and_models_in_the_local_remote(workspace: Workspace, first_run: object) -> None:
    workspace.dvc("push")
    assert any((workspace.repo / ".local" / "dvc-remote").rglob("*")), "dvc push stored nothing"


def test_second_run_reruns_nothing(workspace: Workspace, first_run: object) -> None:
    result = workspace.dvc("repro", "-P")
    assert stages_run(result.stdout) == set(), result.stdout
