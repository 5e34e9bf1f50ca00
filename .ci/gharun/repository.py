"""GitHub's side of a run: an origin with the branches, the PR's merge commit, the team's DVC remote.

A hosted runner clones from GitHub, where main already carries the team's retrained `dvc.lock`
files and its DVC remote already holds their outputs. Here a bare `origin` is built from the local
branches, and the team's main is prepared as its own CI would have left it: the base's pipelines
run once, their outputs pushed to a DVC remote outside every clone, and the refreshed `dvc.lock`
files committed on top of the base.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True)
    return result.stdout.strip()


@dataclass(frozen=True)
class Origin:
    path: Path
    base_branch: str
    base_sha: str
    head_branch: str
    head_sha: str

    @property
    def url(self) -> str:
        return f"file://{self.path}"


def build_origin(repo: Path, state: Path, base: str, head: str = "HEAD", base_branch: str = "") -> Origin:
    """A fresh bare origin with the base and head branches (readable by the runner user)."""
    origin = state / "origin.git"
    shutil.rmtree(origin, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    base_branch = base_branch or base.removeprefix("origin/").removeprefix("refs/heads/")
    head_branch = git(repo, "rev-parse", "--abbrev-ref", head)
    head_branch = "pr-head" if head_branch in ("HEAD", base_branch) else head_branch
    git(
        repo,
        "push",
        "-q",
        "--force",
        str(origin),
        f"{base}:refs/heads/{base_branch}",
        f"{head}:refs/heads/{head_branch}",
    )
    return Origin(
        path=origin,
        base_branch=base_branch,
        base_sha=git(origin, "rev-parse", f"refs/heads/{base_branch}"),
        head_branch=head_branch,
        head_sha=git(origin, "rev-parse", f"refs/heads/{head_branch}"),
    )


def prepare_team_main(origin: Origin, team_remote: Path, trained: Path | None) -> Origin:
    """Push the base's pipeline outputs to the team remote and commit its retrained dvc.lock files on main.

    `trained` is a checkout of the base that already ran its pipelines (`./lifecycle --no-serve`);
    without one, a clone of the base kept beside the team remote runs them once per base commit.
    Then `.ci/main-publish`, what main's job runs after training, pushes to this origin.
    """
    if trained is None:
        trained = team_remote.parent / f"main-{origin.base_sha[:12]}"
        done = trained.with_suffix(".trained")
        if not done.is_file():
            shutil.rmtree(trained, ignore_errors=True)
            subprocess.run(["git", "clone", "-q", origin.url, str(trained)], check=True)
            git(trained, "checkout", "-q", origin.base_sha)
            env = {**os.environ, **TELEMETRY_OFF}
            subprocess.run(["./lifecycle", "--no-serve"], cwd=trained, check=True, env=env)
            done.touch()
    if git(trained, "rev-parse", "HEAD") != origin.base_sha:
        raise SystemExit(f".ci/gha: {trained} is not at the base commit {origin.base_sha[:12]}")
    team_remote.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **TELEMETRY_OFF, "DVC_REMOTE_URL": str(team_remote)}
    subprocess.run(
        [str(trained / ".ci" / "main-publish"), origin.url, origin.base_branch],
        cwd=trained,
        check=True,
        env=env,
    )
    return _with_base(origin, git(origin.path, "rev-parse", f"refs/heads/{origin.base_branch}"))


def _with_base(origin: Origin, base_sha: str) -> Origin:
    git(origin.path, "update-ref", f"refs/heads/{origin.base_branch}", base_sha)
    return Origin(origin.path, origin.base_branch, base_sha, origin.head_branch, origin.head_sha)


def merge_commit(origin: Origin, number: int) -> str:
    """GitHub's `refs/pull/N/merge`: the head merged into the base, which a pull_request run checks out."""
    with tempfile.TemporaryDirectory(prefix="gha-merge-") as work:
        clone = Path(work)
        subprocess.run(
            ["git", "clone", "-q", "--branch", origin.base_branch, origin.url, str(clone)], check=True
        )
        git(
            clone, "-c", "user.name=GitHub", "-c", "user.email=noreply@example.invalid",
            "merge", "-q", "--no-ff", "--no-edit", f"origin/{origin.head_branch}",
        )  # fmt: skip
        git(
            clone,
            "push",
            "-q",
            "origin",
            f"HEAD:refs/pull/{number}/merge",
            f"{origin.head_sha}:refs/pull/{number}/head",
        )
        return git(clone, "rev-parse", "HEAD")


def pull_request_event(origin: Origin, number: int, merge_sha: str, repository: str) -> dict[str, object]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "title": git(origin.path, "log", "-1", "--format=%s", origin.head_sha),
            "head": {"ref": origin.head_branch, "sha": origin.head_sha},
            "base": {"ref": origin.base_branch, "sha": origin.base_sha},
            "merge_commit_sha": merge_sha,
        },
        "repository": {"full_name": repository, "default_branch": origin.base_branch},
    }


def push_event(origin: Origin, repository: str) -> dict[str, object]:
    return {
        "ref": f"refs/heads/{origin.base_branch}",
        "after": origin.base_sha,
        "repository": {"full_name": repository, "default_branch": origin.base_branch},
    }


def write_event(path: Path, event: dict[str, object]) -> None:
    path.write_text(json.dumps(event, indent=2), encoding="utf-8")
