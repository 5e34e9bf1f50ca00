"""agent2's pipeline end to end on tiny data, fed by agent1's scores (its pipeline runs too)."""

from __future__ import annotations

import subprocess

import pytest

from tests.pipelines.workspace import Workspace, edit_params, make_workspace, stages_run, training_stages


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("repo"), agents=("agent1", "agent2"))


@pytest.fixture(scope="module")
def first_run(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    return workspace.dvc("repro", "-P")


def test_first_run_registers_a_champion_that_beats_seasonal_naive(
    workspace: Workspace, first_run: subprocess.CompletedProcess[str]
) -> None:
    assert "pipelines/agent1/dvc.yaml:score" in stages_run(first_run.stdout), "agent1 scored nothing"
    workspace.assert_champion_with_lineage("agent2")
    metrics = workspace.metrics("agent2")
    assert metrics["model"]["mae"] < metrics["baseline"]["mae"], metrics


def test_retraining_on_the_same_inputs_writes_the_same_model(workspace: Workspace, first_run: object) -> None:
    workspace.assert_retraining_writes_the_same_model("agent2")


def test_a_change_to_agent2_stages_makes_its_stages_stale(workspace: Workspace, first_run: object) -> None:
    workspace.assert_code_change_makes_every_stage_stale("agent2")


def test_agent2_param_change_reruns_agent2_only(workspace: Workspace, first_run: object) -> None:
    edit_params(workspace.params("agent2"), "train", "max_iter", 70)
    result = workspace.dvc("repro", "-P")
    assert stages_run(result.stdout) == training_stages("agent2"), result.stdout
