"""Whether the committed dvc.lock files describe the code and params they hash, with no data needed.

    python3 .ci/dvc_locks.py          # exit 1 naming each stage and file out of step (run by .ci/run)

Each stage's lock records the md5 of every dep: data (DVC-tracked, not in git) and code and params
(in git). A clone without data can still compare the latter: DVC's own `dvc status` reports a data
dep as `deleted` and a code or params dep whose md5 differs from the lock as `modified`. Here any
change to a git-tracked dep, or to a stage's command, is a failure: the lock would make `dvc repro`
rerun, so the committed outputs were not built from the committed code.

Refresh the locks in the commit that changes the code: `./lifecycle --no-serve` reruns exactly the
stages whose code or params changed (pulling the rest with `dvc repro --pull --allow-missing` where
a team remote holds them), then `git add pipelines/*/dvc.lock`. Standard library only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DVC = ["./pants", "-lwarn", "run", ":dvc", "--"]
PIPELINES = "pipelines"


def tracked_files(root: Path) -> set[str]:
    result = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True)
    return {path for path in result.stdout.split("\0") if path}


def is_tracked(path: str, tracked: Collection[str]) -> bool:
    """A file git tracks, or a folder holding some."""
    prefix = path.rstrip("/") + "/"
    return path in tracked or any(name.startswith(prefix) for name in tracked)


def out_of_step(status: Mapping[str, object], tracked: Collection[str]) -> list[str]:
    """One line per stage and git-tracked dep whose lock entry differs; missing data is no failure."""
    problems: list[str] = []
    for stage, changes in sorted(status.items()):
        for change in changes if isinstance(changes, list) else [changes]:
            if isinstance(change, str):
                problems.append(f"{stage}: {change}")
                continue
            if not isinstance(change, dict):
                continue
            for dep, state in sorted((change.get("changed deps") or {}).items()):
                if is_tracked(dep, tracked):
                    problems.append(
                        f"{stage}: {dep} {json.dumps(state) if not isinstance(state, str) else state}"
                    )
    return problems


def dvc_status(root: Path) -> dict[str, object]:
    result = subprocess.run(
        [*DVC, "status", "--json", "-R", PIPELINES], cwd=root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"dvc status failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    # `./pants run` may print its own lines first; DVC's JSON is the last line.
    status: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1] or "{}")
    return status


def main() -> int:
    problems = out_of_step(dvc_status(ROOT), tracked_files(ROOT))
    if problems:
        print("committed dvc.lock files are out of step with the code and params they hash:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in problems), file=sys.stderr)
        print(
            "refresh them: ./lifecycle --no-serve, then git add pipelines/*/dvc.lock (see .ci/dvc_locks.py)",
            file=sys.stderr,
        )
        return 1
    print("dvc.lock files are in step with the code and params they hash")
    return 0


if __name__ == "__main__":
    sys.exit(main())
