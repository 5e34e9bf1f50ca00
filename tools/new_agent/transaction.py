"""All or nothing: a new agent's files are written into a staging area and moved into place, and
a failure while moving undoes what was moved, so the repository is never left half-scaffolded.

The staging area lives in the git-ignored `.local/` so the final moves are renames on one file
system, not copies.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STAGING_PARENT = ".local"


@dataclass(frozen=True)
class Change:
    created: Mapping[str, str] = field(default_factory=dict)  # new files: path -> content
    edited: Mapping[str, str] = field(default_factory=dict)  # existing files: path -> new content


def _top_new_ancestor(root: Path, relative: str) -> str:
    """The highest path on the way to `relative` that does not exist yet: the unit to move in."""
    parts = Path(relative).parts
    for depth in range(1, len(parts) + 1):
        candidate = Path(*parts[:depth])
        if not (root / candidate).exists():
            return candidate.as_posix()
    raise FileExistsError(f"{relative} exists already")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def apply(root: Path, change: Change) -> list[str]:
    """Applies `change` to `root` whole or not at all; returns the paths created or edited."""
    missing = [path for path in change.edited if not (root / path).is_file()]
    if missing:
        raise FileNotFoundError(f"cannot edit missing files: {', '.join(missing)}")
    units = sorted({_top_new_ancestor(root, path) for path in change.created})
    (root / STAGING_PARENT).mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="new-agent-", dir=root / STAGING_PARENT))
    originals = {path: (root / path).read_bytes() for path in change.edited}
    moved: list[str] = []
    replaced: list[str] = []
    try:
        for path, content in change.created.items():
            _write(staging / "created" / path, content)
        for path, content in change.edited.items():
            _write(staging / "edited" / path, content)
            shutil.copymode(root / path, staging / "edited" / path)
        for unit in units:
            (root / unit).parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging / "created" / unit, root / unit)
            moved.append(unit)
        for path in change.edited:
            os.replace(staging / "edited" / path, root / path)
            replaced.append(path)
    except BaseException:
        for unit in reversed(moved):
            _remove(root / unit)
        for path in replaced:
            (root / path).write_bytes(originals[path])
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [*units, *change.edited]
