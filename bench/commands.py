"""What every benchmark script needs to drive the project's tools: telemetry off, and a command whose
failure stops the benchmark with its own output. Standard library only."""

from __future__ import annotations

import subprocess
from pathlib import Path

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
}


def run(cwd: Path, *command: str, env: dict[str, str] | None = None) -> str:
    """Runs ``command`` in ``cwd`` and returns its stdout; a failure ends the benchmark with its tail."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout
