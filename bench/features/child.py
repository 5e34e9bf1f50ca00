"""What every contender process does: build the features once, time it, hand the result back.

``python -m bench.features.run_<contender> --data DIR --out FILE --report FILE [--holdout-days N]``.
The timed span is reading the Parquet inputs through to the final frame; writing the frame (for the
orchestrator to check it against the other contender) comes after it. The resident set right before
the build is recorded too, so a report can tell the libraries' import footprint from the build's.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bench.features.cache import table_paths

if TYPE_CHECKING:  # the orchestrator imports this module's default and must not load pandas
    import pandas as pd

DEFAULT_HOLDOUT_DAYS = 28  # pipelines/agent2/params.yaml: features.holdout_days

Build = Callable[[Mapping[str, Path], int], "pd.DataFrame"]


def resident_kib() -> int:
    """This process's current resident set (VmRSS), in KiB; 0 where /proc is unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(build: Build, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder with the inputs' Parquet files")
    parser.add_argument("--out", type=Path, required=True, help="Parquet file for the features")
    parser.add_argument("--report", type=Path, required=True, help="JSON file for the measurement")
    parser.add_argument("--holdout-days", type=int, default=DEFAULT_HOLDOUT_DAYS)
    args = parser.parse_args(argv)
    before = resident_kib()
    started = time.perf_counter()
    frame = build(table_paths(args.data), args.holdout_days)
    seconds = time.perf_counter() - started
    frame.to_parquet(args.out, index=False)
    report = {"build_seconds": seconds, "rss_before_build_kib": before, "rows": len(frame)}
    args.report.write_text(json.dumps(report) + "\n", encoding="utf-8")
    return 0
