"""A scratch DVC + git repository holding only the pipelines one agent's end-to-end test needs.

Stages run the agents' packaged PEXes (runtime package dependencies of the test), exactly as
`pipelines/stage` runs them when MLOPS_STAGE_PEX_DIR is set; MLflow is a SQLite file inside the
scratch repository. Each agent's test copies only its own pipeline (plus what it consumes), so a
change to one agent re-runs that agent's end-to-end test and no other.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mlflow
import yaml
from mlflow import MlflowClient

MODELS = {
    "agent1": "agent1-transaction-sentinel",
    "agent2": "agent2-demand-forecaster",
    "agent3": "agent3-churn-classifier",
}
TINY_WORLD = {"seed": 7, "n_customers": 300, "n_transactions": 12_000, "n_days": 240, "drift": False}
# Smaller models than params.yaml asks for: the tests check the pipeline, not the last point of accuracy.
TINY_TRAINING = {"agent1": ("n_estimators", 50), "agent2": ("max_iter", 60)}
SHARED = [".dvcignore", "pipelines/stage", "pipelines/data", "libs"]


def run(
    args: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def stages_run(output: str) -> set[str]:
    """Stages DVC executed, from its 'Running stage' lines."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


def training_stages(agent: str) -> set[str]:
    """What a change to an agent's `train` params must rerun, and nothing else."""
    return {f"pipelines/{agent}/dvc.yaml:{stage}" for stage in ("train", "evaluate", "register", "export")}


def edit_params(path: Path, section: str, key: str, value: object) -> None:
    params = yaml.safe_load(path.read_text())
    params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_into(source_root: Path, repo: Path, relative: str) -> None:
    source, target = source_root / relative, repo / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


@dataclass(frozen=True)
class Workspace:
    repo: Path
    env: dict[str, str]

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "dvc", *args], self.repo, self.env, check=check)

    def params(self, agent: str) -> Path:
        return self.repo / "pipelines" / agent / "params.yaml"

    def registry(self) -> MlflowClient:
        uri = f"sqlite:///{self.repo / '.local' / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        return MlflowClient(tracking_uri=uri, registry_uri=uri)

    def registry_snapshot(self) -> list[tuple[object, ...]]:
        """Every registered model and version, with aliases, tags, stage and run: what a failed run keeps."""
        client = self.registry()
        snapshot: list[tuple[object, ...]] = []
        for model in client.search_registered_models():
            snapshot.append(("model", model.name, sorted(model.aliases.items()), sorted(model.tags.items())))
            for version in client.search_model_versions(f"name = '{model.name}'"):
                snapshot.append(
                    (
                        "version",
                        model.name,
                        int(version.version),
                        version.status,
                        version.current_stage,
                        version.run_id,
                        sorted(version.aliases),
                        sorted(version.tags.items()),
                    )
                )
        return sorted(snapshot, key=repr)

    def champion_version(self, agent: str) -> str:
        return str(self.registry().get_model_version_by_alias(MODELS[agent], "champion").version)

    def metrics(self, agent: str) -> dict[str, dict[str, float]]:
        metrics: dict[str, dict[str, float]] = json.loads(
            (self.repo / "data" / agent / "metrics.json").read_text()
        )
        return metrics

    def assert_champion_with_lineage(self, agent: str) -> None:
        """The agent's champion is registered with its lineage tags and params, and exported."""
        client = self.registry()
        version = client.get_model_version_by_alias(MODELS[agent], "champion")
        assert version.run_id, f"{MODELS[agent]} champion has no run"
        run_data = client.get_run(version.run_id).data
        assert run_data.tags["lineage.git_commit"] not in ("", "unknown")
        assert run_data.tags["lineage.lockfile_sha256"]
        # The committed tree plus what DVC itself wrote (dvc.lock files, outputs): a clean build.
        assert run_data.tags["lineage.git_dirty"] == "false", run_data.tags
        assert any(tag.startswith("lineage.data_hash.") for tag in run_data.tags), run_data.tags
        assert run_data.params, f"{agent} logged no params"
        run = client.get_run(version.run_id)
        assert run.inputs is not None, f"{agent} logged no inputs"
        digests = {logged.dataset.name: logged.dataset.digest for logged in run.inputs.dataset_inputs}
        hashes = {
            tag.removeprefix("lineage.data_hash."): value
            for tag, value in run_data.tags.items()
            if tag.startswith("lineage.data_hash.")
        }
        assert digests == hashes, (digests, hashes)
        assert any(name.startswith("model.") for name in run_data.metrics), run_data.metrics
        params_files = [entry.path for entry in client.list_artifacts(version.run_id, "params")]
        assert params_files == ["params/params.yaml"], params_files
        # Every plot the evaluate stage declares travels with the run (the register stage logs them).
        pipeline = yaml.safe_load((self.repo / "pipelines" / agent / "dvc.yaml").read_text())
        declared = sorted(
            Path(next(iter(entry)) if isinstance(entry, dict) else entry).name
            for entry in pipeline["stages"]["evaluate"]["plots"]
        )
        logged = sorted(Path(entry.path).name for entry in client.list_artifacts(version.run_id, "plots"))
        assert logged == declared, (logged, declared)
        bundle = self.repo / "agents" / agent / "champion"
        exported = json.loads((bundle / "champion.json").read_text())
        assert exported == {"model_name": MODELS[agent], "model_version": str(version.version)}
        assert (bundle / "model.skops").stat().st_size > 0

    def assert_retraining_writes_the_same_model(self, agent: str) -> None:
        """`dvc repro -f` of the train stage on unchanged inputs rewrites the model byte for byte."""
        model = self.repo / "data" / agent / "model.skops"
        before = sha256(model)
        result = self.dvc("repro", "-f", "-s", f"pipelines/{agent}/dvc.yaml:train")
        assert stages_run(result.stdout) == {f"pipelines/{agent}/dvc.yaml:train"}, result.stdout
        assert sha256(model) == before, f"retraining {agent} on the same inputs wrote a different model"
        status = self.dvc("status", f"pipelines/{agent}/dvc.yaml")
        assert "up to date" in status.stdout, status.stdout

    def assert_code_change_makes_every_stage_stale(self, agent: str) -> None:
        """A comment appended to the agent's stages.py is a changed dep of each stage its program runs."""
        stages_py = self.repo / "agents" / agent / "stages.py"
        original = stages_py.read_text()
        stages_py.write_text(original + "# a change to how the agent's stages run\n")
        try:
            status = json.loads(self.dvc("status", "--json", f"pipelines/{agent}/dvc.yaml").stdout)
        finally:
            stages_py.write_text(original)
        pipeline = yaml.safe_load((self.repo / "pipelines" / agent / "dvc.yaml").read_text())
        expected = {f"pipelines/{agent}/dvc.yaml:{stage}" for stage in pipeline["stages"]}
        stale = {
            stage
            for stage, changes in status.items()
            for change in changes
            if isinstance(change, dict) and f"agents/{agent}/stages.py" in change.get("changed deps", {})
        }
        assert stale == expected, status


def make_workspace(repo: Path, agents: tuple[str, ...]) -> Workspace:
    """A committed git + DVC repository with the data pipeline and `agents`' pipelines, on tiny data."""
    sandbox = Path.cwd()
    for relative in [*SHARED, *(f"agents/{agent}" for agent in agents)]:
        copy_into(sandbox, repo, relative)
    for agent in agents:
        copy_into(sandbox, repo, f"pipelines/{agent}")
    (repo / "pants.toml").write_text('[GLOBAL]\npants_version = "2.17.1"\n')
    # Local state (MLflow store, DVC remote) is git-ignored, as in the project.
    (repo / ".gitignore").write_text("/.local/\n")
    for key, value in TINY_WORLD.items():
        edit_params(repo / "pipelines/data/params.yaml", "data", key, value)
    for agent, (key, value) in TINY_TRAINING.items():
        if agent in agents:
            edit_params(repo / "pipelines" / agent / "params.yaml", "train", key, value)
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
    workspace = Workspace(repo, env)
    run(["git", "init", "-q"], repo, env)
    workspace.dvc("init", "-q")
    workspace.dvc("remote", "add", "-d", "local", str(repo / ".local" / "dvc-remote"))
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "tiny world"], repo, env)
    return workspace
