"""The continuous-training loop end to end: real DVC, MLflow (SQLite), BentoML over HTTP, tiny data.

Train agent2 on a world without drift, serve it from its packaged PEX, send it traffic from the
same world with the drift switch on, then run the loop (``libs/monitoring/loop.py``) twice: with a
gate margin no challenger can meet (drift found, retrained, champion kept and still answering),
then with the real margin (drift found, retrained, promoted, and the running service answers with
the new version by hot reload). Requests keep succeeding throughout.
"""

from __future__ import annotations

import gzip
import math
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.pipelines.workspace import Workspace, edit_params, make_workspace
from tests.support.serving import Server, serve, wait_for

AGENT, SERVICE = "agent2", "services.agent2.service:DemandForecaster"
INTEGERS = ("store_id", "product_id", "day_of_week", "month")
FEATURES = [
    "store_id", "product_id", "lag_1", "lag_7", "lag_14", "rolling_mean_7", "rolling_mean_28",
    "day_of_week", "month", "promo_share",
]  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = make_workspace(tmp_path_factory.mktemp("repo"), agents=("agent1", AGENT))
    edit_params(workspace.params(AGENT), "monitor", "min_rows", 20)
    workspace.dvc("repro", "-P")
    assert workspace.champion_version(AGENT) == "1"
    return workspace


@pytest.fixture(scope="module")
def reference(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The champion's training features, kept: a retrain that is not promoted overwrites the file."""
    kept = tmp_path_factory.mktemp("reference") / "features.parquet"
    shutil.copy2(workspace.repo / "data" / AGENT / "features.parquet", kept)
    return kept


@pytest.fixture(scope="module")
def drifted_rows(workspace: Workspace, reference: Path) -> list[dict[str, Any]]:
    """Requests built from the generator with the drift switch on: the newest days of a drifted world.

    The workspace's own data moves to the drifted world (after ``reference`` kept the champion's
    features), as a team's would when new data lands: the loop's retrain then reruns only the
    stages after the features, and the served champion is still the one trained before the drift.
    """
    edit_params(workspace.repo / "pipelines/data/params.yaml", "data", "drift", True)
    workspace.dvc("repro", f"pipelines/{AGENT}/dvc.yaml:features")
    frame = pd.read_parquet(workspace.repo / "data" / AGENT / "features.parquet")
    return [_request_row(row) for row in frame[frame["split"] == "holdout"][FEATURES].to_dict("records")]


@pytest.fixture(scope="module")
def server(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pex = Path.cwd() / "agents.agent2" / "serve.pex"
    env = {
        **workspace.env,
        "MLOPS_CHAMPION_DIR": str(workspace.repo / "agents" / AGENT / "champion"),
        "MLOPS_CHAMPION_RELOAD_INTERVAL_S": "0.5",
    }
    scratch = tmp_path_factory.mktemp("server")  # cwd: the sandbox's sources would shadow the PEX's
    with serve(
        [sys.executable, str(pex), "serve", SERVICE], env=env, log=scratch / "server.log", cwd=scratch
    ) as running:
        yield running


def _request_row(row: dict[str, Any]) -> dict[str, Any]:
    def value(name: str, item: Any) -> Any:
        if item is None or (isinstance(item, float) and math.isnan(item)):
            return None
        return int(item) if name in INTEGERS else float(item)

    return {name: value(name, item) for name, item in row.items()}


def _versions(server: Server, rows: list[dict[str, Any]]) -> set[str]:
    reply = server.post("/forecast", {"rows": rows})
    assert reply.status == 200, reply.text
    return {item["model_version"] for item in reply.body}


def _logged_rows(workspace: Workspace) -> int:
    # The service's prediction log: gzipped JSON Lines, one line per answered row.
    files = (workspace.repo / ".local" / "predictions" / AGENT).glob("date=*/*.jsonl.gz")
    return sum(len(gzip.decompress(path.read_bytes()).splitlines()) for path in files)


def _loop(workspace: Workspace, reference: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "libs.monitoring.loop", AGENT,
        "--monitor", f"pipelines/stage agents/{AGENT}:monitor",
        "--dvc", f"{sys.executable} -m dvc",
        "--", "--features", str(reference),
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=workspace.repo,
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


class Traffic:
    """Requests in a background thread while the loop runs: none may fail, hot reload or not."""

    def __init__(self, server: Server, rows: list[dict[str, Any]]) -> None:
        self.server, self.rows = server, rows
        self.statuses: list[int] = []
        self.versions: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            reply = self.server.post("/forecast", {"rows": self.rows[:5]})
            self.statuses.append(reply.status)
            if reply.status == 200:
                self.versions |= {item["model_version"] for item in reply.body}


@pytest.fixture(scope="module")
def drifted_traffic(workspace: Workspace, server: Server, drifted_rows: list[dict[str, Any]]) -> int:
    assert len(drifted_rows) >= 20, len(drifted_rows)
    for start in range(0, len(drifted_rows), 50):
        assert _versions(server, drifted_rows[start : start + 50]) == {"1"}
    return wait_for(lambda: _logged_rows(workspace) >= len(drifted_rows) or None, what="the prediction log")


def test_a_challenger_that_cannot_pass_the_gate_leaves_the_champion_answering(
    workspace: Workspace,
    server: Server,
    reference: Path,
    drifted_rows: list[dict[str, Any]],
    drifted_traffic: int,
) -> None:
    margin = yaml.safe_load(workspace.params(AGENT).read_text())["gate"]["margin"]
    edit_params(workspace.params(AGENT), "gate", "margin", 1e9)
    try:
        with Traffic(server, drifted_rows) as traffic:
            result = _loop(workspace, reference)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "drift detected" in result.stdout and "not promoted" in result.stdout, result.stdout
        assert workspace.champion_version(AGENT) == "1"
        assert traffic.statuses and set(traffic.statuses) == {200} and traffic.versions == {"1"}
        assert _versions(server, drifted_rows[:5]) == {"1"}
        summary = (workspace.repo / ".local" / "monitoring" / AGENT / "summary.json").read_text()
        assert '"drifted": true' in summary
    finally:
        edit_params(workspace.params(AGENT), "gate", "margin", margin)


def test_drift_retrains_promotes_and_the_service_reloads_the_new_champion(
    workspace: Workspace,
    server: Server,
    reference: Path,
    drifted_rows: list[dict[str, Any]],
    drifted_traffic: int,
) -> None:
    with Traffic(server, drifted_rows) as traffic:
        result = _loop(workspace, reference)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "drift detected" in result.stdout and " promoted" in result.stdout, result.stdout
        champion = workspace.champion_version(AGENT)
        assert champion not in ("1", "2"), result.stdout
        wait_for(
            lambda: _versions(server, drifted_rows[:5]) == {champion} or None, what=f"v{champion} answers"
        )
    assert traffic.statuses and set(traffic.statuses) == {200}
    assert {"1", champion} <= traffic.versions
