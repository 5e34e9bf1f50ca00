"""``reproduce <model> [--version N]``: rebuild a registered version from its lineage and compare metrics.

A lineage is only worth recording if it can be followed back. This module reads a version's
lineage tags (commit, input data hashes, the params file logged with the run), makes a temporary
git clone at that commit, restores exactly those inputs by their DVC hashes from the DVC remote,
reruns the agent's pipeline up to its evaluate stage (register never runs, so nothing is
registered) and compares the recorded metrics with the reproduced ones.

Exit codes: 0 when every shared metric agrees within the agent's tolerance (``reproduce.tolerance``
in its params file, default 0: the agents train deterministically, so exact), 3 when one differs,
2 when the lineage cannot be followed (a dirty tree at training time, a commit the repository does
not hold, data missing from the remote), with a message that names which.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mlflow import MlflowClient

from libs.settings import Settings, find_project_root
from libs.tracking.errors import TrackingError
from libs.tracking.inputs import numeric_leaves
from libs.tracking.lineage import TAG_PREFIX
from libs.tracking.registry import version_or_champion
from libs.tracking.uris import client_for

AGREE, LINEAGE_BROKEN, DIFFER = 0, 2, 3
PARAMS_ARTIFACT = "params/params.yaml"
DATA_HASH_PREFIX = f"{TAG_PREFIX}data_hash."
_TIMEOUT_S = 1800


class LineageBrokenError(TrackingError):
    """The recorded lineage cannot be followed back to a rebuild; the message says where it breaks."""


@dataclass(frozen=True)
class Recorded:
    """What the registry says a version was made from, and how it scored."""

    model: str
    version: str
    run_id: str
    agent: str
    commit: str
    data_hashes: Mapping[str, str]
    params_yaml: str
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class Comparison:
    rows: tuple[tuple[str, float, float], ...]  # metric, recorded, reproduced
    tolerance: float

    @property
    def agree(self) -> bool:
        return all(abs(recorded - reproduced) <= self.tolerance for _, recorded, reproduced in self.rows)

    def lines(self) -> list[str]:
        width = max(len(name) for name, _, _ in self.rows)
        header = f"  {'metric':<{width}}  {'recorded':>22}  {'reproduced':>22}"
        body = [
            f"  {name:<{width}}  {recorded!r:>22}  {reproduced!r:>22}"
            + ("" if abs(recorded - reproduced) <= self.tolerance else "  DIFFERS")
            for name, recorded, reproduced in self.rows
        ]
        return [header, *body]


def recorded_lineage(client: MlflowClient, name: str, version: str | None = None) -> Recorded:
    """The version's lineage, refusing one that no rebuild could match (dirty tree, no commit)."""
    found = version_or_champion(client, name, version)
    if not found.run_id:
        raise LineageBrokenError(f"{name} v{found.version} has no training run to read a lineage from")
    run = client.get_run(found.run_id)
    tags = run.data.tags
    dirty = tags.get(f"{TAG_PREFIX}git_dirty")
    if dirty != "false":
        raise LineageBrokenError(
            f"{name} v{found.version} was trained from a dirty tree (lineage.git_dirty={dirty}): "
            "its code is not in any commit"
        )
    commit = tags.get(f"{TAG_PREFIX}git_commit", "")
    agent = tags.get(f"{TAG_PREFIX}resolve", "")
    if not commit or commit == "unknown" or not agent or agent == "unknown":
        raise LineageBrokenError(f"{name} v{found.version} records no commit or agent (lineage tags)")
    hashes = {
        key.removeprefix(DATA_HASH_PREFIX): md5
        for key, md5 in tags.items()
        if key.startswith(DATA_HASH_PREFIX)
    }
    if not hashes:
        raise LineageBrokenError(f"{name} v{found.version} records no input data hashes")
    with tempfile.TemporaryDirectory(prefix="reproduce-params-") as scratch:
        try:
            params_path = client.download_artifacts(found.run_id, PARAMS_ARTIFACT, scratch)
        except Exception as error:  # MLflow raises several types for a missing artifact
            raise LineageBrokenError(f"{name} v{found.version}'s run logged no {PARAMS_ARTIFACT}") from error
        params_yaml = Path(params_path).read_text(encoding="utf-8")
    return Recorded(
        model=name,
        version=str(found.version),
        run_id=found.run_id,
        agent=agent,
        commit=commit,
        data_hashes=hashes,
        params_yaml=params_yaml,
        metrics=dict(run.data.metrics),
    )


class Clone:
    """A throwaway clone at one commit, where DVC runs against the project's remote."""

    def __init__(self, root: Path, *, env: Mapping[str, str]) -> None:
        self.root, self.env = root, dict(env)
        self.dvc_command: tuple[str, ...] = ()

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )

    def dvc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run([*self.dvc_command, *args])

    def must(self, result: subprocess.CompletedProcess[str], doing: str) -> None:
        if result.returncode != 0:
            raise TrackingError(f"{doing} failed ({result.returncode}): {_tail(result)}")


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return " | ".join(lines[-6:])


def clone_at(source: Path, commit: str, into: Path, *, env: Mapping[str, str]) -> Clone:
    known = subprocess.run(
        ["git", "-C", str(source), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
    )
    if known.returncode != 0:
        raise LineageBrokenError(f"commit {commit} is unknown to the repository at {source}")
    for args in (
        ["git", "clone", "-q", "--no-checkout", str(source), str(into)],
        ["git", "-C", str(into), "-c", "advice.detachedHead=false", "checkout", "-q", commit],
    ):
        result = subprocess.run(args, capture_output=True, text=True, env=dict(env), check=False)
        if result.returncode != 0:
            raise TrackingError(f"{' '.join(args[:3])} failed: {result.stderr.strip()}")
    return Clone(into, env=env)


def _relative_input(name: str) -> Path:
    path = Path(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise LineageBrokenError(f"input name {name!r} is not a path inside the repository")
    return path


def restore_inputs(clone: Clone, hashes: Mapping[str, str], remote_url: str) -> None:
    """Pulls each input by its md5 through a pointer file of its own, then moves it into place.

    The pointers live outside every pipeline's outputs (``data/raw`` is one stage's output
    directory), so DVC accepts them; a hash the remote lacks fails the pull, naming the input.
    """
    staging = clone.root / ".reproduce"
    staging.mkdir()
    pointers: dict[str, Path] = {}
    for index, (name, md5) in enumerate(sorted(hashes.items())):
        _relative_input(name)
        pointer = staging / f"input{index}.dvc"
        pointer.write_text(yaml.safe_dump({"outs": [{"md5": md5, "path": f"input{index}", "hash": "md5"}]}))
        pointers[name] = pointer
    clone.must(clone.dvc("remote", "add", "--local", "-f", "reproduce", remote_url), "dvc remote add")
    pulled = clone.dvc(
        "pull", "-r", "reproduce", *(str(p.relative_to(clone.root)) for p in pointers.values())
    )
    if pulled.returncode != 0:
        missing = ", ".join(f"{name} ({hashes[name]})" for name in sorted(hashes))
        raise LineageBrokenError(
            f"input data missing from the DVC remote {remote_url}: {missing}: {_tail(pulled)}"
        )
    for name, pointer in pointers.items():
        target = clone.root / _relative_input(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        shutil.move(str(pointer.with_suffix("")), str(target))


def evaluation_stages(stages: Mapping[str, Any], dvc_yaml: str) -> list[str]:
    """The pipeline's stages in file order, up to and including ``evaluate``."""
    names = list(stages)
    if "evaluate" not in names:
        raise LineageBrokenError(f"{dvc_yaml} at the recorded commit has no evaluate stage")
    return [f"{dvc_yaml}:{name}" for name in names[: names.index("evaluate") + 1]]


@dataclass(frozen=True)
class Pipeline:
    """The agent's dvc.yaml at the recorded commit, and its stages up to evaluation."""

    path: str
    stages: Mapping[str, Any]
    to_evaluation: tuple[str, ...]

    @classmethod
    def read(cls, clone: Clone, recorded: Recorded) -> Pipeline:
        dvc_yaml = f"pipelines/{recorded.agent}/dvc.yaml"
        pipeline_file = clone.root / dvc_yaml
        if not pipeline_file.is_file():
            raise LineageBrokenError(f"the recorded commit {recorded.commit} has no {dvc_yaml}")
        stages = yaml.safe_load(pipeline_file.read_text(encoding="utf-8")).get("stages", {})
        return cls(dvc_yaml, stages, tuple(evaluation_stages(stages, dvc_yaml)))

    def programs(self) -> list[str]:
        """Pants targets of the stage programs (``pipelines/stage <target> ...`` commands)."""
        targets: list[str] = []
        for stage in self.to_evaluation:
            words = shlex.split(str(self.stages[stage.rsplit(":", 1)[1]]["cmd"]))
            if len(words) > 1 and words[0] == "pipelines/stage" and words[1] not in targets:
                targets.append(words[1])
        return targets

    def metrics_files(self) -> list[str]:
        entries = self.stages["evaluate"].get("metrics", [])
        return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]


def build_tools(
    clone: Clone, pipeline: Pipeline, *, stage_pex_dir: Path | None, dvc: Sequence[str] | None
) -> None:
    """Points the clone at its stage programs and DVC, building with the clone's Pants what is not given.

    One ``./pants package`` (no daemon left behind) builds the recorded commit's own stage PEXes
    and pinned DVC, so the rebuild runs the code and tools of that commit.
    """
    targets = (pipeline.programs() if stage_pex_dir is None else []) + ([":dvc"] if dvc is None else [])
    if targets:
        clone.must(
            clone.run(["./pants", "--no-pantsd", "-lwarn", "package", *targets]), "building the stages"
        )
    clone.env["MLOPS_STAGE_PEX_DIR"] = str(stage_pex_dir or clone.root / "dist")
    python = clone.env.get("MLOPS_STAGE_PYTHON", "python3.11")
    clone.dvc_command = tuple(dvc) if dvc is not None else (python, str(clone.root / "dist" / "dvc.pex"))


def rerun_to_evaluation(clone: Clone, pipeline: Pipeline, params_yaml: str) -> dict[str, float]:
    """Runs the stages with the recorded params and returns the evaluation's numeric metrics."""
    (clone.root / pipeline.path).with_name("params.yaml").write_text(params_yaml, encoding="utf-8")
    for stage in pipeline.to_evaluation:  # one at a time: -s keeps DVC from regenerating the inputs upstream
        clone.must(clone.dvc("repro", "--force", "--single-item", stage), f"dvc repro {stage}")
    metrics: dict[str, float] = {}
    for relative in pipeline.metrics_files():
        metrics.update(numeric_leaves(json.loads((clone.root / relative).read_text(encoding="utf-8"))))
    return metrics


def tolerance(params_yaml: str) -> float:
    """``reproduce.tolerance`` of the agent's params file; 0 (exact) when it states none."""
    params = yaml.safe_load(params_yaml) or {}
    section = params.get("reproduce") if isinstance(params, dict) else None
    return float(section.get("tolerance", 0.0)) if isinstance(section, dict) else 0.0


def compare(recorded: Mapping[str, float], reproduced: Mapping[str, float], tol: float) -> Comparison:
    shared = sorted(set(recorded) & set(reproduced))
    if not shared:
        raise LineageBrokenError("the recorded run and the reproduction share no metric to compare")
    return Comparison(tuple((name, recorded[name], reproduced[name]) for name in shared), tol)


def _clone_env() -> dict[str, str]:
    """The caller's environment without project settings, so nothing in the clone reaches the registry."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MLOPS_") or key == "MLOPS_STAGE_PYTHON"
    }
    env.update(
        DO_NOT_TRACK="true",
        MLFLOW_DISABLE_TELEMETRY="true",
        BENTOML_DO_NOT_TRACK="true",
        DVC_NO_ANALYTICS="1",
    )
    return env


def reproduce(
    name: str,
    settings: Settings,
    *,
    version: str | None = None,
    repo: Path | None = None,
    dvc: Sequence[str] | None = None,
    stage_pex_dir: Path | None = None,
) -> tuple[Recorded, Comparison]:
    """Rebuilds ``name``'s version (default: the champion) and compares its metrics with the recorded.

    ``dvc`` and ``stage_pex_dir`` are for callers that already hold the recorded commit's DVC and
    stage PEXes (the tests); by default the clone builds both with its own Pants.
    """
    recorded = recorded_lineage(client_for(settings), name, version)
    source = repo or find_project_root() or Path.cwd()
    with tempfile.TemporaryDirectory(prefix=f"reproduce-{recorded.agent}-") as scratch:
        env = _clone_env()
        env["MLOPS_HOME"] = str(Path(scratch) / "home")
        clone = clone_at(source, recorded.commit, Path(scratch) / "repo", env=env)
        pipeline = Pipeline.read(clone, recorded)
        build_tools(clone, pipeline, stage_pex_dir=stage_pex_dir, dvc=dvc)
        remote = settings.dvc_remote_url or str(settings.home / "dvc-remote")
        restore_inputs(clone, recorded.data_hashes, remote)
        reproduced = rerun_to_evaluation(clone, pipeline, recorded.params_yaml)
    return recorded, compare(recorded.metrics, reproduced, tolerance(recorded.params_yaml))


def add_parser(commands: Any) -> None:
    """Registers the ``reproduce`` subcommand on the CLI's subparsers."""
    parser = commands.add_parser(
        "reproduce", help="rebuild a version from its lineage in a temporary clone and compare its metrics"
    )
    parser.add_argument("model")
    parser.add_argument("--version", help="the model version (default: the champion)")
    parser.add_argument(
        "--repo", type=Path, help="the git repository holding the commit (default: this project)"
    )
    parser.add_argument(
        "--dvc", help="command that runs DVC in the clone (default: the clone's own :dvc, built there)"
    )
    parser.add_argument(
        "--stage-pex-dir",
        type=Path,
        help="stage PEXes already built from the recorded commit (default: build them in the clone)",
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Prints both metric sets side by side; exit 0 agree, 3 differ, 2 lineage cannot be followed."""
    recorded, comparison = reproduce(
        args.model,
        settings,
        version=args.version,
        repo=args.repo,
        dvc=shlex.split(args.dvc) if args.dvc else None,
        stage_pex_dir=args.stage_pex_dir,
    )
    verdict = "reproduced" if comparison.agree else "NOT reproduced"
    print(
        f"{recorded.model} v{recorded.version} (run {recorded.run_id}, commit {recorded.commit[:12]}): "
        f"{verdict}, tolerance {comparison.tolerance}"
    )
    print("\n".join(comparison.lines()))
    return AGREE if comparison.agree else DIFFER
