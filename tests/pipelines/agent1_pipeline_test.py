"""agent1's pipeline end to end on tiny data: real DVC, real MLflow on a temporary SQLite store; and a
training stage killed mid-fit, which must leave no partial output, the registry as it was, and a
pipeline that a plain rerun completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.pipelines.workspace import Workspace, edit_params, make_workspace, sha256, stages_run

# Enough trees that fitting on the tiny world takes far longer than the seconds before the kill.
SLOW_TREES = 40_000
RUNNING_BEFORE_KILL_S = 4.0


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


def test_retraining_on_the_same_inputs_writes_the_same_model(workspace: Workspace, first_run: object) -> None:
    workspace.assert_retraining_writes_the_same_model("agent1")


def test_a_change_to_agent1_stages_makes_its_stages_stale(workspace: Workspace, first_run: object) -> None:
    workspace.assert_code_change_makes_every_stage_stale("agent1")


def stage_processes(group: int, stage: str) -> list[int]:
    """Processes of the DVC run's process group running the given stage (not DVC, not its shell).

    `pipelines/stage` and the PEX exec each other in place, so the pid stays while its command line
    changes; any of them holding the stage name as a word is the stage.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in command if word]
        if int(fields[2]) == group and stage in words and "dvc" not in words:
            found.append(int(entry.name))
    return found


def test_training_killed_mid_fit_leaves_no_partial_output_and_a_rerun_completes(
    workspace: Workspace, first_run: object
) -> None:
    repo = workspace.repo
    model = repo / "data/agent1/model.skops"
    model_before = sha256(model)
    registry_before = workspace.registry_snapshot()
    params = workspace.params("agent1")
    original = params.read_text()
    edit_params(params, "train", "n_estimators", SLOW_TREES)
    dvc = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", "pipelines/agent1/dvc.yaml:train"],
        cwd=repo,
        env=workspace.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, to find the stage among its children
    )
    try:
        deadline = time.monotonic() + 120
        while not (trainers := stage_processes(dvc.pid, "train")) and time.monotonic() < deadline:
            assert dvc.poll() is None, dvc.communicate()[0]
            time.sleep(0.2)
        assert trainers, "the train stage never started"
        time.sleep(RUNNING_BEFORE_KILL_S)
        assert set(trainers) <= set(stage_processes(dvc.pid, "train")), "training ended before the kill"
        for pid in trainers:
            os.kill(pid, signal.SIGKILL)
        output = dvc.communicate(timeout=120)[0]
    finally:
        if dvc.poll() is None:
            os.killpg(dvc.pid, signal.SIGKILL)
            dvc.wait()
    assert dvc.returncode != 0, output
    assert "failed to reproduce" in output.lower() or "error" in output.lower(), output

    assert not model.exists() or sha256(model) == model_before, "a partial model was left where DVC reads it"
    leftovers = [path for path in (repo / "data").rglob("*") if path.name.endswith(".tmp")]
    assert leftovers == [], leftovers
    assert workspace.registry_snapshot() == registry_before, "the killed run changed the registry"
    status = workspace.dvc("status", "pipelines/agent1/dvc.yaml")
    assert "train" in status.stdout, status.stdout  # DVC knows the stage did not complete

    params.write_text(original)
    workspace.dvc("repro", "-P")
    status = workspace.dvc("status")
    assert "up to date" in status.stdout, status.stdout
    assert model.is_file()
    workspace.assert_champion_with_lineage("agent1")
