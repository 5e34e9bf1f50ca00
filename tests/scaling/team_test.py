"""A team's setup on loopback, switched on by configuration only: one clone trains agent3 against a
shared MLflow tracking server on PostgreSQL and pushes its data and models to a DVC remote over
SSH; the champion comes from the server and answers over HTTP; a second clean clone pulls
everything over SSH and `dvc repro` there has nothing to do."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from mlflow import MlflowClient

from tests.pipelines.workspace import MODELS, Workspace, make_workspace, run, stages_run
from tests.scaling.servers import SKIP_REASON, enabled, started
from tests.support.serving import Server, serve

pytestmark = pytest.mark.skipif(not enabled(), reason=SKIP_REASON)

AGENT, SERVICE = "agent3", "services.agent3.service:ChurnClassifier"
MODEL = MODELS[AGENT]
REMOTE = "team"
CUSTOMER = {
    "customer_id": 9, "revenue": 120.0, "visits": 10.0, "recency_days": 40.0, "tenure_days": 300.0,
    "observed_days": 200.0, "avg_basket": 12.0, "distinct_products": 5.0, "visits_last_28d": 0.0,
    "visits_prior_28d": 3.0, "is_budget": 1.0, "is_premium": 0.0,
}  # fmt: skip


@dataclass(frozen=True)
class Team:
    database_uri: str
    tracking_uri: str
    artifacts: Path
    ssh_state: Path
    ssh_remote_url: str


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    state = tmp_path_factory.mktemp("servers")
    artifacts = state / "artifacts"
    mlflow = {"MLOPS_MLFLOW": f"{sys.executable} -m mlflow"}
    with (
        started("postgres", state / "postgres") as database_uri,
        started("mlflow-server", state / "mlflow", database_uri, str(artifacts), env=mlflow) as tracking_uri,
        started("sshd", state / "sshd") as ssh_base,
    ):
        yield Team(database_uri, tracking_uri, artifacts, state / "sshd", f"{ssh_base}{state / 'dvc-remote'}")


def use_team_remote(workspace: Workspace, team: Team) -> None:
    """What a teammate runs once per clone: the shared remote as default, in git-ignored config."""
    workspace.dvc("remote", "add", "--local", "--default", REMOTE, team.ssh_remote_url)
    workspace.dvc("remote", "modify", "--local", REMOTE, "keyfile", str(team.ssh_state / "client_key"))


def teammate(workspace: Workspace, team: Team) -> Workspace:
    """The workspace's environment plus the one variable that points it at the tracking server."""
    return Workspace(workspace.repo, {**workspace.env, "MLOPS_MLFLOW_TRACKING_URI": team.tracking_uri})


@pytest.fixture(scope="module")
def first(team: Team, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Trains agent3 against the server, commits the pipeline state and pushes to the SSH remote."""
    workspace = teammate(make_workspace(tmp_path_factory.mktemp("first") / "repo", agents=(AGENT,)), team)
    use_team_remote(workspace, team)
    workspace.dvc("repro", "-P")
    run(["git", "add", "-A"], workspace.repo, workspace.env)
    run(["git", "commit", "-qm", "trained"], workspace.repo, workspace.env)
    workspace.dvc("push")
    return workspace


def champion_version(team: Team) -> str:
    client = MlflowClient(tracking_uri=team.tracking_uri, registry_uri=team.tracking_uri)
    return str(client.get_model_version_by_alias(MODEL, "champion").version)


def champion_rows_in(database_uri: str) -> list[tuple[int, ...]]:
    """The registry's champion alias as PostgreSQL itself holds it, read past MLflow."""
    connection = psycopg2.connect(database_uri.replace("+psycopg2", ""))  # libpq takes no driver name
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = 'champion'",
                (MODEL,),
            )
            return list(cursor.fetchall())
    finally:
        connection.close()


def test_training_registers_the_champion_in_postgres_and_its_artifacts_on_the_server(
    first: Workspace, team: Team
) -> None:
    assert not (first.repo / ".local" / "mlflow.db").exists(), "the embedded SQLite store was used"
    assert not list(first.repo.rglob("mlartifacts")), "artifacts were written on the client side"
    version = champion_version(team)
    assert champion_rows_in(team.database_uri) == [(int(version),)]
    assert list(team.artifacts.rglob("MLmodel")), f"no model under the server's store {team.artifacts}"
    exported = json.loads((first.repo / "agents" / AGENT / "champion" / "champion.json").read_text())
    assert exported == {"model_name": MODEL, "model_version": version}


@pytest.fixture(scope="module")
def served(first: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    pex = Path.cwd() / "agents.agent3" / "serve.pex"
    env = {**first.env, "MLOPS_CHAMPION_DIR": str(first.repo / "agents" / AGENT / "champion")}
    scratch = tmp_path_factory.mktemp("server")  # cwd: the sandbox's sources would shadow the PEX's
    with serve(
        [sys.executable, str(pex), "serve", SERVICE], env=env, log=scratch / "log", cwd=scratch
    ) as server:
        yield server


def test_the_champion_from_the_server_answers_over_http(served: Server, team: Team) -> None:
    reply = served.post("/assess", {"customers": [CUSTOMER]})
    assert reply.status == 200, reply.text
    [answer] = reply.body
    assert answer["model_name"] == MODEL
    assert answer["model_version"] == champion_version(team)
    assert 0.0 <= answer["churn_probability"] <= 1.0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_clean_clone_pulls_over_ssh_and_is_up_to_date(
    first: Workspace, team: Team, tmp_path_factory: pytest.TempPathFactory
) -> None:
    repo = tmp_path_factory.mktemp("second") / "repo"
    run(["git", "clone", "-q", str(first.repo), str(repo)], repo.parent, first.env)
    second = Workspace(repo, {**first.env, "MLOPS_HOME": str(repo / ".local")})
    assert not (repo / "data/agent3/model.skops").exists()
    use_team_remote(second, team)
    second.dvc("pull")
    status = second.dvc("status")
    assert "Data and pipelines are up to date" in status.stdout, status.stdout
    assert stages_run(second.dvc("repro", "-P").stdout) == set()
    for relative in (
        "data/agent3/model.skops",
        "agents/agent3/champion/model.skops",
        "data/raw/customers.parquet",
    ):
        assert sha256(repo / relative) == sha256(first.repo / relative), relative
    assert not (first.repo / ".local" / "dvc-remote").exists(), "the pull did not come from the SSH remote"


def test_the_ssh_remote_refuses_a_client_without_the_key(first: Workspace, team: Team) -> None:
    """The remote is really the SSH server: without the authorized key nothing is listed."""
    workspace = first
    workspace.dvc("remote", "modify", "--local", REMOTE, "keyfile", str(team.ssh_state / "host_key"))
    try:
        result = workspace.dvc("status", "--cloud", check=False)
        assert result.returncode != 0, result.stdout
    finally:
        workspace.dvc("remote", "modify", "--local", REMOTE, "keyfile", str(team.ssh_state / "client_key"))
