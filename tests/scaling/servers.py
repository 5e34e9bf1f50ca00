"""The team servers of scaling/ (PostgreSQL, MLflow, OpenSSH, BuildGrid), started by their own
scripts for a test and always stopped afterwards, as a user runs them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCRIPTS = Path.cwd() / "scaling"
SWITCH = "MLOPS_SCALING_TEST"
SKIP_REASON = f"starts real servers (and installs Debian packages when missing): .ci/run sets {SWITCH}=1"


def enabled() -> bool:
    return os.environ.get(SWITCH) == "1"


@contextmanager
def started(script: str, state: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``scaling/<script> up STATE ARGS``, yielding the address it prints; ``down`` runs even after a
    failed ``up``, which may have started part of it."""
    environment = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(
            [str(SCRIPTS / script), "up", str(state), *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"scaling/{script} up failed:\n{result.stdout}\n{result.stderr}")
        yield result.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SCRIPTS / script), "down", str(state)], env=environment, check=False, timeout=120)
