"""The commit a run's code came from, read from git without ever failing the run."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

UNKNOWN = "unknown"
_TIMEOUT_S = 10


@dataclass(frozen=True)
class GitState:
    commit: str
    dirty: bool | None  # None when unknown


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def git_state(repo: Path | None = None) -> GitState:
    """Lineage is a record, not a precondition: no git, no repo or no commit yields ``unknown``."""
    cwd = repo or Path.cwd()
    head = _git(["rev-parse", "HEAD"], cwd)
    if head is None or not head.strip():
        return GitState(commit=UNKNOWN, dirty=None)
    status = _git(["status", "--porcelain"], cwd)
    return GitState(commit=head.strip(), dirty=None if status is None else bool(status.strip()))
