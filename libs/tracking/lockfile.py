"""Which pinned third-party set a run used: the sha256 of its Pants resolve's lockfile."""

from __future__ import annotations

import hashlib
from pathlib import Path

from libs.settings import find_project_root

LOCKFILE_DIR = Path("3rdparty") / "python"


def lockfile_path(resolve: str, *, root: Path | None = None) -> Path | None:
    """Where Pants keeps the resolve's lockfile, or None outside a project."""
    base = root or find_project_root()
    return None if base is None else base / LOCKFILE_DIR / f"{resolve}.lock"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def lockfile_sha256(
    resolve: str | None = None, *, path: Path | None = None, root: Path | None = None
) -> str | None:
    """An explicit path must exist; a resolve's lockfile may be absent (e.g. in a packaged PEX) -> None."""
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f"lockfile {path} does not exist")
        return sha256_file(path)
    if resolve is None:
        return None
    found = lockfile_path(resolve, root=root)
    return sha256_file(found) if found is not None and found.is_file() else None
