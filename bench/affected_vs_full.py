"""Affected-only CI path against the full path, for a one-agent change, side by side in one run.

    python3 bench/affected_vs_full.py [--repeat 3] [--cold-repeat 1] [--modes warm,cold]

In a temporary git copy of this tree, before every sample of either path, a new one-line change
to agents/agent2/model.py is committed on top of main, so no sample reuses a result computed for
another sample's change. Alternating so machine noise hits both alike:
  affected:  .ci/affected.py --since HEAD~1, then `test` of the tests it lists and `package` of the
             affected PEXes (what the pull-request workflow runs);
  full:      `test ::` and `package` of every PEX.
"warm" reuses Pants' local cache primed by main (a laptop or CI runner that built main before):
both paths then rerun the same changed tests, and the full path adds only cache look-ups. "cold"
disables it (`--no-local-cache`: a fresh runner), so every test and PEX really runs. Both run
without pantsd, whose in-memory memo would otherwise hand one path the other's results. Images are
left out of both paths: they need a Docker engine and trained champions, and would add the same
work to each side.
Prints medians and the affected/full ratio; writes bench/results/affected_vs_full.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as `python3 bench/affected_vs_full.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.commands import run
from bench.report import write_results

SOURCE = Path(__file__).resolve().parent.parent
CHANGED = "agents/agent2/model.py"
BENCHMARKS_EXCLUDED = "--filter-tag-regex=-^benchmark$"


def clone(scratch: Path) -> Path:
    repo = scratch / "repo"
    subprocess.run(["git", "clone", "-q", str(SOURCE), str(repo)], check=True)
    run(repo, "git", "config", "user.email", "bench@example.invalid")
    run(repo, "git", "config", "user.name", "bench")
    return repo


def commit_new_change(repo: Path, sample: int) -> None:
    """A one-line change of agent2's model, new for every sample, committed on top of main."""
    run(repo, "git", "reset", "-q", "--hard", "origin/HEAD")
    target = repo / CHANGED
    target.write_text(target.read_text() + f"\n# a one-line change ({sample})\n")
    run(repo, "git", "commit", "-qam", f"change {sample}")


def affected_path(repo: Path, flags: list[str]) -> None:
    report = json.loads(
        run(
            repo,
            "env",
            f"MLOPS_AFFECTED_PANTS_ARGS={' '.join(flags)}",
            "python3",
            ".ci/affected.py",
            "--since",
            "HEAD~1",
            "--json",
        )
    )
    if report["tests"]:
        run(repo, "./pants", *flags, "test", *report["tests"])
    changed = ["--changed-since=HEAD~1", "--changed-dependents=transitive", "--filter-target-type=pex_binary"]
    changed.append(BENCHMARKS_EXCLUDED)
    run(repo, "./pants", *flags, *changed, "package")


def full_path(repo: Path, flags: list[str]) -> None:
    run(repo, "./pants", *flags, "test", "::")
    # Benchmark baselines (the monolith) are no CI's work, as in the pull-request workflow.
    run(repo, "./pants", *flags, "--filter-target-type=pex_binary", BENCHMARKS_EXCLUDED, "package", "::")


def timed(step: Callable[[Path, list[str]], None], repo: Path, flags: list[str]) -> float:
    started = time.perf_counter()
    step(repo, flags)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per path")
    parser.add_argument(
        "--cold-repeat", type=int, default=1, help="cold runs per path (each reruns every test)"
    )
    parser.add_argument("--modes", default="warm,cold")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-affected-"))
    rows: list[dict[str, object]] = []
    try:
        repo = clone(scratch)
        if "warm" in args.modes.split(","):
            full_path(repo, [])  # prime: warm means main was built before
        sample = 0
        for mode in args.modes.split(","):
            # No pantsd: its in-memory memo would let whichever path runs second reuse the first's work.
            flags = ["--no-pantsd", *(["--no-local-cache"] if mode == "cold" else [])]
            samples: dict[str, list[float]] = {"affected": [], "full": []}
            repeat = args.cold_repeat if mode == "cold" else args.repeat
            for _ in range(repeat):
                for name, path in (("affected", affected_path), ("full", full_path)):
                    sample += 1
                    commit_new_change(repo, sample)
                    samples[name].append(timed(path, repo, flags))
            affected, full = (statistics.median(samples[name]) for name in ("affected", "full"))
            rows.append(
                {
                    "mode": mode,
                    "runs": repeat,
                    "affected_median_s": round(affected, 1),
                    "full_median_s": round(full, 1),
                    "ratio": round(affected / full, 3),
                    "samples_s": "; ".join(
                        f"{name} " + ", ".join(f"{value:.1f}" for value in values)
                        for name, values in samples.items()
                    ),
                }
            )
            print(
                f"{mode}: affected {affected:.1f}s, full {full:.1f}s, ratio {affected / full:.2f}", flush=True
            )
    finally:
        subprocess.run(["./pants", "kill-pantsd"], cwd=scratch / "repo", capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    write_results(
        "affected_vs_full",
        f"Affected-only vs full CI path (one-line change in `{CHANGED}`)",
        ["mode", "runs", "affected_median_s", "full_median_s", "ratio", "samples_s"],
        rows,
        notes=[
            "affected: `.ci/affected.py`, then `test` of the tests it lists and `package` of the affected"
            " PEXes; full: `test ::` and `package` of every PEX. Both without pantsd.",
            "warm: Pants' local cache primed by main; cold: `--no-local-cache` (a runner with no cache).",
        ],
        tool_versions={"pants": run(SOURCE, "./pants", "--version").strip()},
        extra={"change": CHANGED},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
