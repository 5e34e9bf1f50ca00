"""The commit a run's code came from, read from git without ever failing the run."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
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


def changed_paths(porcelain: str) -> Iterator[str]:
    """Paths from ``git status --porcelain=v1 -z``: a rename's entry names both, each is yielded."""
    entries = iter(porcelain.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        yield entry[3:]
        if entry[0] in "RC":
            yield next(entries, "")


def git_state(repo: Path | None = None, *, ignore: Callable[[Path], bool] | None = None) -> GitState:
    """Lineage is a record, not a precondition: no git, no repo or no commit yields ``unknown``.

    The tree is dirty when a tracked file differs from HEAD or an untracked, not git-ignored file
    exists, except paths (absolute) for which ``ignore`` is true.
    """
    cwd = repo or Path.cwd()
    head = _git(["rev-parse", "HEAD"], cwd)
    if head is None or not head.strip():
        return GitState(commit=UNKNOWN, dirty=None)
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    status = _git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd)
    if top is None or status is None:
        return GitState(commit=head.strip(), dirty=None)
    root = Path(top.strip())
    dirty = any(not (ignore and ignore(root / path)) for path in changed_paths(status))
    return GitState(commit=head.strip(), dirty=dirty)
