"""The waits a team feels every day, timed on a fresh clone with an empty Pants cache.

    python3 bench/ci_time.py            # or `bench/run --ci-time`; 30-60 minutes on 2 busy cores

In a fresh `git clone` of this checkout's commit, one after another, under `nice`:
  test cold:       `./pants test ::` with empty, temporary named caches and local store (a newcomer's
                   first run, or a CI runner with no cache restored);
  test warm:       the same command again on the cache it filled;
  pull request:    a one-line change to agents/agent2/model.py committed, then the pull-request path
                   (`.ci/affected.py` and the tests and PEXes it names, as bench/affected_vs_full.py);
  lifecycle cold:  `./lifecycle --no-serve` on a second empty cache (a newcomer's first training run);
  lifecycle warm:  the same again (DVC and Pants reuse everything).
The temporary caches keep the shared one (~/.cache/pants) untouched; the Pants bootstrap venv
(~/.cache/pants/setup, about 36 s when absent) is reused, as it is by anyone who ran Pants once.
Every Pants run is without pantsd, so a warm figure is the cache's, not a daemon's memory.
The table is rewritten after every step, so an interrupted run leaves the figures it has; a step
stopped by SIGTERM or Ctrl-C is written as unfinished, its time a lower bound. `--steps` runs some
of them: the rows of the steps not run are kept from the previous results, each row saying the
commit, date and load it was measured at.
Writes bench/results/ci_time.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as `python3 bench/ci_time.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.affected_vs_full import affected_path, commit_new_change
from bench.commands import TELEMETRY_OFF, run
from bench.report import results_dir, utc_stamp, write_results

SOURCE = Path(__file__).resolve().parent.parent
COLUMNS = ["step", "command", "cache", "seconds", "status", "commit", "measured", "load before"]
# Every step in the order it runs and the table shows it; `--steps` names their groups.
STEP_ORDER = ["test cold", "test warm", "pull request, one agent", "lifecycle cold", "lifecycle warm"]


def earlier_rows() -> list[dict[str, object]]:
    """The rows of the previous results, each stamped with its run's date when it has none of its own."""
    path = results_dir() / "ci_time.json"
    if not path.is_file():
        return []
    previous = json.loads(path.read_text(encoding="utf-8"))
    run_date = previous.get("machine", {}).get("date", "")
    return [{"measured": run_date, **row} for row in previous.get("rows", [])]


def merged(kept: list[dict[str, object]], new: list[dict[str, object]]) -> list[dict[str, object]]:
    """This run's rows, and the earlier rows of every step this run did not measure, in step order."""
    by_step = {str(row["step"]): row for row in kept}
    by_step.update({str(row["step"]): row for row in new})
    return [by_step[step] for step in STEP_ORDER if step in by_step]


def is_complete(rows: list[dict[str, object]]) -> bool:
    """Every step has a row, and every row finished: a table with a gap or a lower bound is not."""
    return [row["step"] for row in rows] == STEP_ORDER and all(row["status"] == "ok" for row in rows)


def clone(scratch: Path) -> Path:
    """A fresh clone at this checkout's commit, with an `origin/HEAD` for the pull-request step."""
    repo = scratch / "repo"
    commit = run(SOURCE, "git", "rev-parse", "HEAD").strip()
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(SOURCE), str(repo)], check=True)
    run(repo, "git", "checkout", "-q", "-B", "bench", commit)
    run(repo, "git", "update-ref", "refs/remotes/origin/HEAD", commit)
    run(repo, "git", "config", "user.email", "bench@example.invalid")
    run(repo, "git", "config", "user.name", "bench")
    return repo


def cache_env(cache: Path) -> dict[str, str]:
    """Environment pointing Pants (and every ./pants inside ./lifecycle) at a cache of its own."""
    return {
        **os.environ,
        **TELEMETRY_OFF,
        "PANTS_NAMED_CACHES_DIR": str(cache / "named"),
        "PANTS_LOCAL_STORE_DIR": str(cache / "store"),
        "PANTS_PANTSD": "false",
    }


class Stopped(Exception):
    """SIGTERM or Ctrl-C during a step: the step is recorded as unfinished, then the run ends."""


def stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Stopped(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def timed(action: Callable[[], object]) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        action()
        status = "ok"
    except SystemExit as failure:  # bench.commands.run reports a failed command this way
        print(failure, file=sys.stderr, flush=True)
        status = "failed"
    except (Stopped, KeyboardInterrupt):
        status = "stopped before it finished (a lower bound)"
    return time.perf_counter() - started, status


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", default="test,pr,lifecycle", help="comma-separated: test, pr, lifecycle")
    parser.add_argument("--keep", action="store_true", help="keep the scratch clone and caches")
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    scratch = Path(tempfile.mkdtemp(prefix="bench-ci-time-"))
    rows: list[dict[str, object]] = []
    kept = earlier_rows()
    commit = run(SOURCE, "git", "rev-parse", "--short", "HEAD").strip()
    pants_version = run(SOURCE, "./pants", "--version").strip()
    stop_on_sigterm()
    os.nice(10)  # every command below inherits it: the other builds on this machine go first

    def record(step: str, command: str, cache: str, action: Callable[[], object]) -> None:
        measured, load = utc_stamp(), round(os.getloadavg()[0], 1)
        seconds, status = timed(action)
        rows.append(
            {
                "step": step,
                "command": command,
                "cache": cache,
                "seconds": round(seconds, 1),
                "status": status,
                "commit": commit,
                "measured": measured,
                "load before": load,
            }
        )
        print(f"{step}: {seconds:.1f}s ({status})", flush=True)
        stopped = status.startswith("stopped")
        table = merged(kept, rows)
        write(table, pants_version, complete=is_complete(table))
        if stopped:
            raise SystemExit(f"stopped during {step}")

    try:
        repo = clone(scratch)
        test_env = cache_env(scratch / "cache-test")
        if "test" in steps or "pr" in steps:
            test = ["./pants", "test", "::"]
            record(
                "test cold",
                "./pants test ::",
                "empty",
                lambda: run(repo, *test, env=test_env),
            )
            record(
                "test warm",
                "./pants test ::",
                "filled by test cold",
                lambda: run(repo, *test, env=test_env),
            )
        if "pr" in steps:

            def pull_request() -> None:
                commit_new_change(repo, 1)
                os.environ.update(test_env)  # affected_path runs its commands in this environment
                affected_path(repo, ["--no-pantsd"])

            record(
                "pull request, one agent",
                ".ci/affected.py, then its tests and PEXes",
                "filled by test cold",
                pull_request,
            )
            run(repo, "git", "reset", "-q", "--hard", "origin/HEAD")
        if "lifecycle" in steps:
            life_env = cache_env(scratch / "cache-lifecycle")
            lifecycle = ["./lifecycle", "--no-serve"]
            record(
                "lifecycle cold",
                "./lifecycle --no-serve",
                "empty",
                lambda: run(repo, *lifecycle, env=life_env),
            )
            record(
                "lifecycle warm",
                "./lifecycle --no-serve",
                "filled by lifecycle cold",
                lambda: run(repo, *lifecycle, env=life_env),
            )
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0 if all(row["status"] == "ok" for row in rows) else 1


def write(rows: list[dict[str, object]], pants_version: str, *, complete: bool) -> None:
    notes = [
        "A fresh clone of this commit; every command without pantsd and at nice 10; 'empty' is a"
        " new temporary `--named-caches-dir` and `--local-store-dir` (the Pants bootstrap venv is reused).",
        "pull request: a one-line change to agents/agent2/model.py, then `.ci/affected.py --since HEAD~1`,"
        " `test` of the tests it lists and `package` of the affected PEXes.",
        "One sample per step: the machine is shared with other builds, so each figure is an upper bound"
        " on an idle 2-core machine; 'load before' is the 1-minute load average as the step began.",
        "Rows may come from different runs (`--steps` reruns some): each names its commit and date.",
    ]
    if not complete:
        notes.insert(
            0,
            "INCOMPLETE: a step is missing or did not finish; the figures are the steps it reached.",
        )
    write_results(
        "ci_time",
        "CI time: fresh clone, empty cache, warm rerun, pull-request path, first training run",
        COLUMNS,
        rows,
        notes=notes,
        tool_versions={"pants": pants_version},
        extra={"complete": complete},
    )


if __name__ == "__main__":
    raise SystemExit(main())
