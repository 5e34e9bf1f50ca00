"""The time each step of one whole `bash .ci/run` took, read from that run's own output.

    bash .ci/run 2>&1 | tee /tmp/ci-run.log
    python3 bench/ci_run.py /tmp/ci-run.log --commit "$(git rev-parse --short HEAD)"
                                              # writes bench/results/ci_run.{md,json}

`.ci/run` starts every step with a line `=== <what it does> (<seconds since start>s)` and ends with
`=== done in <N>s (<N>s)`; a step's time is the gap to the next line of that kind. A log without the last
line (a failed or stopped run) is refused: the table is only written from a run that finished.
These are the figures the README quotes (checked by .ci/readme_figures.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python3 bench/ci_run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import write_results

STEP_LINE = re.compile(r"^=== (?P<title>.+) \((?P<started>\d+)s\)$")
DONE_LINE = re.compile(r"^=== done in (?P<total>\d+)s \(\d+s\)$")
COLUMNS = ["step", "started_s", "seconds"]


class UnfinishedRunError(ValueError):
    """The log is not that of a `.ci/run` that reached its end."""


def step_times(log: str) -> list[dict[str, object]]:
    """One row per step, in run order, with the total as the last row."""
    marks: list[tuple[str, int]] = []
    total: int | None = None
    for line in log.splitlines():
        if done := DONE_LINE.match(line):
            total = int(done["total"])
        elif step := STEP_LINE.match(line):
            marks.append((step["title"], int(step["started"])))
    if total is None or not marks:
        raise UnfinishedRunError(
            "no '=== done in Ns (Ns)' line: the run did not finish, so it has no figures"
        )
    ends = [started for _, started in marks[1:]] + [total]
    rows: list[dict[str, object]] = [
        {"step": title, "started_s": started, "seconds": end - started}
        for (title, started), end in zip(marks, ends, strict=True)
    ]
    rows.append({"step": "total", "started_s": 0, "seconds": total})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("log", type=Path, help="the whole output of one `bash .ci/run`")
    parser.add_argument("--commit", required=True, help="the commit the run tested")
    parser.add_argument("--load", default="", help="what else ran on the machine, e.g. 'load 3-5'")
    parser.add_argument(
        "--cold", action="store_true", help="the run started with HOME's caches empty, as on a new CI machine"
    )
    args = parser.parse_args()
    try:
        rows = step_times(args.log.read_text(encoding="utf-8", errors="replace"))
    except UnfinishedRunError as error:
        print(f"error: {args.log}: {error}", file=sys.stderr)
        return 2
    notes = [
        f"One uninterrupted `bash .ci/run` of a fresh clone of commit {args.commit}, "
        + (
            "with HOME's caches empty (Pants, PEX, pip, uv, npm), as on a new CI machine."
            if args.cold
            else "Pants' shared cache as an earlier run left it (the CI machine's state too)."
        ),
        "One sample: the machine is shared, so each figure is an upper bound on an idle 2-core machine."
        + (f" During this run: {args.load}." if args.load else ""),
    ]
    write_results("ci_run", "CI: every step of one `bash .ci/run`", COLUMNS, rows, notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
