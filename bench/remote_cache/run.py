"""Pants' remote cache: a cold `test ::` against a second clean clone reading BuildGrid's cache.

    python3 bench/remote_cache/run.py [--targets ::]

Starts BuildGrid on loopback (`scaling/buildgrid`, fresh storage), clones this tree's HEAD twice
and runs `./pants test <targets>` in each, without pantsd and without Pants' local process cache
(`--no-local-cache`: a runner or laptop that never ran these tests):
  cold:  the first clone, writing every result to the remote cache;
  clone: a second clean clone, reading it (what a teammate or the next CI runner gets).
Both runs see the same environment (HOME included: Pants' cache keys hold the variables passed to
tests). Pants' `--stats-log` counters give the remote cache's requests, hits and the time they
saved. Prints the table and the clone/cold ratio; writes bench/results/remote_cache.{md,json}.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as `python3 bench/remote_cache/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.commands import TELEMETRY_OFF, run
from bench.report import ratio, write_results

SOURCE = Path(__file__).resolve().parents[2]
BUILDGRID = SOURCE / "scaling" / "buildgrid"
COUNTER = re.compile(r"^\s+(remote_cache_\w+|local_execution_requests): (\d+)$", re.MULTILINE)
COLUMNS = [
    "run",
    "seconds",
    "exit",
    "remote_cache_requests",
    "remote_cache_requests_cached",
    "hit_rate",
    "remote_cache_total_time_saved_s",
    "remote_cache_write_successes",
    "local_execution_requests",
]


@dataclass(frozen=True)
class Measured:
    seconds: float
    exit_code: int
    counters: dict[str, int]
    load: float  # the 15-minute load average when the run ended: these machines are shared


def remote_cache_flags(address: str, *, write: bool) -> list[str]:
    return [
        "--no-pantsd",
        "--no-local-cache",
        "--remote-cache-read",
        f"--{'' if write else 'no-'}remote-cache-write",
        f"--remote-store-address={address}",
        "--remote-instance-name=main",
        "--stats-log",
    ]


def clone(scratch: Path, name: str) -> Path:
    repo = scratch / name
    subprocess.run(["git", "clone", "-q", str(SOURCE), str(repo)], check=True)
    return repo


def pants_test(repo: Path, flags: list[str], targets: list[str], log: Path) -> Measured:
    """One `./pants test`, timed; a failing test is recorded (its result is not cached), not fatal."""
    env = {**os.environ, **TELEMETRY_OFF}
    started = time.monotonic()
    result = subprocess.run(
        ["./pants", *flags, "test", *targets], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    counters = {name: int(value) for name, value in COUNTER.findall(result.stderr)}
    if not counters:
        raise SystemExit(f"no --stats-log counters from ./pants test; see {log}:\n{result.stderr[-3000:]}")
    return Measured(round(seconds, 1), result.returncode, counters, round(os.getloadavg()[2], 1))


def row(name: str, measured: Measured) -> dict[str, object]:
    counters = measured.counters
    requests = counters.get("remote_cache_requests", 0)
    cached = counters.get("remote_cache_requests_cached", 0)
    return {
        "run": name,
        "seconds": measured.seconds,
        "exit": measured.exit_code,
        "remote_cache_requests": requests,
        "remote_cache_requests_cached": cached,
        "hit_rate": ratio(cached, requests),
        "remote_cache_total_time_saved_s": round(
            counters.get("remote_cache_total_time_saved_ms", 0) / 1000, 1
        ),
        "remote_cache_write_successes": counters.get("remote_cache_write_successes", 0),
        "local_execution_requests": counters.get("local_execution_requests", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=["::"], help="what `./pants test` runs (default ::)")
    args = parser.parse_args()
    head = run(SOURCE, "git", "rev-parse", "--short", "HEAD").strip()
    with tempfile.TemporaryDirectory(prefix="remote-cache-bench-") as scratch_name:
        scratch = Path(scratch_name)
        state = scratch / "buildgrid"
        address = run(SOURCE, str(BUILDGRID), "up", str(state)).strip().splitlines()[-1]
        try:
            cold = pants_test(
                clone(scratch, "cold"),
                remote_cache_flags(address, write=True),
                args.targets,
                scratch / "cold.log",
            )
            print(f"cold: {cold.seconds} s, exit {cold.exit_code}", flush=True)
            second = pants_test(
                clone(scratch, "clone"),
                remote_cache_flags(address, write=False),
                args.targets,
                scratch / "clone.log",
            )
            print(f"clone: {second.seconds} s, exit {second.exit_code}", flush=True)
        finally:
            run(SOURCE, str(BUILDGRID), "down", str(state))
    rows = [
        row("cold (first clone, writes the cache)", cold),
        row("clone (second clean clone, reads it)", second),
    ]
    fraction = ratio(second.seconds, cold.seconds)
    notes = [
        f"`./pants test {' '.join(args.targets)}` of commit {head}, twice, in two clean clones; both "
        "`--no-pantsd --no-local-cache`, against BuildGrid 0.9.1 on 127.0.0.1 (scaling/buildgrid).",
        f"The second clone took {fraction} of the cold run's time "
        f"({second.seconds} s against {cold.seconds} s).",
        "Pants' named caches (downloaded wheels, the pex root) are shared by both clones, as on one "
        "machine; only the process results come from the remote cache.",
        f"15-minute load average when each run ended: cold {cold.load}, clone {second.load}.",
    ]
    if cold.exit_code or second.exit_code:
        notes.append("A run exited non-zero: failing tests are not cached, so they ran again in the clone.")
    write_results(
        "remote_cache",
        "Pants remote cache (BuildGrid, REAPI): cold run against a second clean clone",
        COLUMNS,
        rows,
        notes=notes,
        tool_versions={"pants": "2.17.1", "buildgrid": "0.9.1"},
        extra={"clone_over_cold": fraction, "commit": head},
    )


if __name__ == "__main__":
    main()
