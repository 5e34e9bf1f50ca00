"""Runs one child process and measures it: wall time, and peak resident set from ``os.wait4``.

Each sample is a fresh process so its peak is its own. One Linux detail shapes the whole benchmark:
at ``exec`` the kernel folds the parent's high-water RSS into the child's ``ru_maxrss`` (the child
starts as a copy of the parent), so a child can never report less than its parent's peak. The
orchestrator therefore imports only the standard library and leaves pandas, DuckDB and data
generation to children of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    wall_seconds: float
    peak_rss_kib: int  # ru_maxrss: KiB on Linux
    returncode: int


def run_module(module: str, args: Sequence[str]) -> Sample:
    """``python -m module args...`` with this interpreter, waited for with ``os.wait4``."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", module, *args])
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        process.kill()
        process.wait()
        raise
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return Sample(wall_seconds=wall, peak_rss_kib=usage.ru_maxrss, returncode=process.returncode)


def run_checked(module: str, args: Sequence[str]) -> Sample:
    """Like ``run_module``, but a failed child stops the benchmark with its command in the message."""
    sample = run_module(module, args)
    if sample.returncode != 0:
        raise SystemExit(f"python -m {module} {' '.join(args)} failed with exit code {sample.returncode}")
    return sample
