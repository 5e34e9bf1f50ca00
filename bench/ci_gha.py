"""CI time as a team feels it: GitHub's jobs run from their YAML by `.ci/gha`, step by step.

    python3 bench/ci_gha.py                      # as root, in a checkout that ran ./lifecycle --no-serve,
                                                 # with DOCKER_HOST and BASE_IMAGE set (.ci/docker-up)
    python3 bench/ci_gha.py --record "PR, cache restored=.local/gha/pull-request/affected/timings.json"

By default the pull-request job for a one-line agent2 change (`.ci/pr-proof`) runs twice against a
fresh runner state: first with an empty Actions cache (a new repository, or a changed lockfile),
then with the Pants cache the first run saved (every later pull request). `--record` adds the
timings of runs made otherwise (`.ci/gha main`, a run on another machine) under a label instead.
Writes bench/results/ci_gha.{md,json}: the job's minutes and its slowest steps, with the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python3 bench/ci_gha.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import write_results

ROOT = Path(__file__).resolve().parent.parent
PR_TIMINGS = ROOT / ".local" / "gha" / "pull-request" / "affected" / "timings.json"
# The issue's targets: a pull request with the Pants cache restored, and main cold.
TARGETS = {("pull-request", True): 15.0, ("main", False): 75.0}


def run_pr_job(state: Path) -> dict[str, Any]:
    subprocess.run(
        ["bash", ".ci/pr-proof"], cwd=ROOT, check=True, env={**os.environ, "GHA_STATE": str(state)}
    )
    timings: dict[str, Any] = json.loads(PR_TIMINGS.read_text(encoding="utf-8"))
    return timings


def row(label: str, timings: dict[str, Any], *, cache_restored: bool) -> dict[str, Any]:
    minutes = float(timings["seconds"]) / 60
    workflow = str(timings["job"]).split("/")[0]
    target = TARGETS.get((workflow, cache_restored))
    steps = sorted(timings["steps"], key=lambda step: -float(step["seconds"]))
    slowest = "; ".join(f"{step['name']} {float(step['seconds']) / 60:.1f}" for step in steps[:4])
    return {
        "run": label,
        "job": timings["job"],
        "status": timings["status"],
        "minutes": round(minutes, 1),
        "target_minutes": target if target is not None else "-",
        "met": "-" if target is None else ("yes" if minutes <= target else "no"),
        "slowest_steps_min": slowest,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--record",
        action="append",
        default=[],
        metavar="LABEL=TIMINGS_JSON",
        help="a run made otherwise; a label containing 'restored' counts as a restored Pants cache",
    )
    parser.add_argument("--note", action="append", default=[], help="a line for the results' notes")
    args = parser.parse_args(argv)
    rows = []
    if args.record:
        for entry in args.record:
            label, path = entry.split("=", 1)
            timings = json.loads(Path(path).read_text(encoding="utf-8"))
            rows.append(row(label, timings, cache_restored="restored" in label))
    else:
        with tempfile.TemporaryDirectory(prefix="gha-bench-") as state:
            rows.append(
                row("pull request, empty Actions cache", run_pr_job(Path(state)), cache_restored=False)
            )
            rows.append(
                row("pull request, Pants cache restored", run_pr_job(Path(state)), cache_restored=True)
            )
    write_results(
        "ci_gha",
        "CI jobs as GitHub runs them (`.ci/gha`), one-line agent2 change",
        ["run", "job", "status", "minutes", "target_minutes", "met", "slowest_steps_min"],
        rows,
        notes=[
            "Each job runs from its workflow YAML as the unprivileged runner user with an empty HOME;"
            " the team's main (pipelines run, outputs on the DVC remote) is prepared beforehand and"
            " not counted.",
            "Targets: the pull-request job at most 15 minutes with the Pants cache restored, the main"
            " job at most 75 minutes cold.",
            *args.note,
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
