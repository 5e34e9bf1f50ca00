"""What every benchmark script needs to drive the project's tools: telemetry off, and a command whose
failure stops the benchmark with its own output. Standard library only."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

TELEMETRY_OFF = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
}


def run(cwd: Path, *command: str, env: dict[str, str] | None = None) -> str:
    """Runs ``command`` in ``cwd`` and returns its stdout; a failure ends the benchmark with its tail.

    The command gets a process group of its own, and an interrupted benchmark (Ctrl-C, SIGTERM, a
    deadline) ends the whole group: ``./pants`` and ``./lifecycle`` start processes of their own,
    which would otherwise go on building in a scratch folder nobody reads.
    """
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate()
        except BaseException:
            end_group(process)
            raise
    if process.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{failure_lines(stdout + stderr)}{stdout[-3000:]}\n{stderr[-3000:]}"
        )
    return stdout


def failure_lines(output: str, most: int = 40) -> str:
    """The lines naming what failed (Pants' ✕ lines), which a long tail such as a skip list can push out."""
    found = [line for line in output.splitlines() if "✕" in line][:most]
    return "".join(f"{line}\n" for line in found)


def end_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the command's whole process group, SIGKILL to what is left after 30 s."""
    for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
