from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from libs.settings import Settings, disable_telemetry
from libs.tracking import Lineage, champion, gate, log_sklearn_model, promote, register_model, tracked_run
from libs.tracking.cli import main

disable_telemetry()

MODEL = "cli-test-model"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry where v1 was champion and v2 beat it through the gate."""
    home = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    settings = Settings(home=home, mlflow_tracking_uri=uri, mlflow_registry_uri=uri)
    features = np.random.default_rng(3).normal(size=(50, 2))
    model = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    with tracked_run("cli-test", params={}, lineage=Lineage(), settings=settings) as run:
        log_sklearn_model(model)
        mlflow.log_metric("model.roc_auc", 0.9)
        mlflow.log_text("train:\n  c: 1.0\n", "params/params.yaml")
    for version, score, champion_score in (("1", 0.80, None), ("2", 0.90, 0.80)):
        register_model(run.info.run_id, "model", MODEL, settings=settings)
        gate(MODEL, version, score, champion_score, margin=0.05, higher_is_better=True, settings=settings)
        promote(MODEL, version, settings=settings)
    yield uri


def test_show_lists_versions_champion_and_gate_decisions(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--tracking-uri", store, "show", MODEL]) == 0
    out = capsys.readouterr().out
    assert "champion v2" in out
    assert "champion history 1 -> 2" in out
    assert "v2  READY" in out and "CHAMPION" in out and "replaced v1" in out
    assert "gate promoted: promoted v2: score 0.9 beats champion v1's 0.8 by 0.1" in out
    # The champion's run: its lineage, every metric and the recorded params file.
    assert "lineage.git_dirty=unknown" in out
    assert "metric model.roc_auc=0.9" in out
    assert "artifact params/params.yaml" in out


def test_rollback_moves_the_champion_back(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tracking-uri", store, "rollback", MODEL]) == 0
    assert capsys.readouterr().out.strip() == f"{MODEL}: champion rolled back from v2 to v1"
    settings = Settings(mlflow_tracking_uri=store)
    found = champion(MODEL, settings=settings)
    assert found is not None and str(found.version) == "1"

    assert main(["--tracking-uri", store, "rollback", MODEL]) == 2
    assert (
        capsys.readouterr().err
        == f"error: champion v1 of '{MODEL}' records no previous champion; nothing to roll back to\n"
    )


def test_download_copies_the_champion_into_a_new_folder(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = champion(MODEL, settings=Settings(mlflow_tracking_uri=store))
    assert found is not None
    assert main(["--tracking-uri", store, "download", MODEL, str(tmp_path / "champion")]) == 0
    name_and_version, folder = capsys.readouterr().out.strip().split(": ", 1)
    assert name_and_version == f"{MODEL} v{found.version}"
    assert Path(folder) == tmp_path / "champion"
    assert {"MLmodel", "requirements.txt"} <= {path.name for path in Path(folder).iterdir()}

    assert main(["--tracking-uri", store, "download", MODEL, str(tmp_path / "v2"), "--version", "2"]) == 0
    assert capsys.readouterr().out.startswith(f"{MODEL} v2: ")


def test_download_refuses_a_folder_in_use_and_an_unknown_version(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "kept.txt").write_text("mine\n")
    assert main(["--tracking-uri", store, "download", MODEL, str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err == f"error: {tmp_path} exists and is not an empty folder; choose a new one\n"
    )
    assert (tmp_path / "kept.txt").read_text() == "mine\n"

    assert main(["--tracking-uri", store, "download", MODEL, str(tmp_path / "new"), "--version", "9"]) == 2
    assert capsys.readouterr().err == f"error: model '{MODEL}' has no version 9\n"
    assert not (tmp_path / "new").exists()

    assert main(["--tracking-uri", store, "download", MODEL, str(tmp_path / "kept.txt")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'kept.txt'} is a file; name a new folder\n"

    assert main(["--tracking-uri", store, "download", "no-such-model", str(tmp_path / "other")]) == 2
    assert capsys.readouterr().err == "error: registered model 'no-such-model' does not exist\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept.txt"]


def test_unknown_model_exits_2_with_one_line(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("rollback", "show"):
        assert main(["--tracking-uri", store, command, "no-such-model"]) == 2
        assert capsys.readouterr().err == "error: registered model 'no-such-model' does not exist\n"


def test_module_entry_point(store: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "libs.tracking", "--tracking-uri", store, "show", "no-such-model"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: registered model 'no-such-model' does not exist"
