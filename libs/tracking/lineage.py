"""What a run was made from (code commit, input data, pinned dependencies, params) as MLflow tags."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from libs.settings import find_project_root
from libs.tracking.datahash import data_hashes, find_dvc_root
from libs.tracking.gitstate import UNKNOWN, git_state
from libs.tracking.lockfile import lockfile_sha256
from libs.tracking.params import flatten_params
from libs.tracking.pipelinewrites import PipelineWrites

TAG_PREFIX = "lineage."
_TAG_UNSAFE = re.compile(r"[^/\w.\- :]")


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Lineage:
    git_commit: str = UNKNOWN
    git_dirty: bool | None = None
    data_hashes: Mapping[str, str] = field(default_factory=dict)
    lockfile_sha256: str = UNKNOWN
    resolve: str = UNKNOWN
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_hashes", _frozen(self.data_hashes))
        object.__setattr__(self, "params", _frozen(self.params))

    def as_tags(self) -> dict[str, str]:
        tags = {
            f"{TAG_PREFIX}git_commit": self.git_commit,
            f"{TAG_PREFIX}git_dirty": UNKNOWN if self.git_dirty is None else str(self.git_dirty).lower(),
            f"{TAG_PREFIX}lockfile_sha256": self.lockfile_sha256,
            f"{TAG_PREFIX}resolve": self.resolve,
        }
        tags.update({f"{TAG_PREFIX}data_hash.{name}": md5 for name, md5 in self.data_hashes.items()})
        return tags


def data_name(path: Path) -> str:
    """A stable tag-safe name: the path relative to its DVC repo or project, else the file name."""
    resolved = path.resolve()
    base = find_dvc_root(resolved.parent) or find_project_root(resolved.parent) or Path.cwd().resolve()
    name = resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else resolved.name
    return _TAG_UNSAFE.sub("_", name)


def _named(inputs: Sequence[Path | str] | Mapping[str, Path | str]) -> dict[str, Path]:
    pairs = (
        [(str(name), Path(path)) for name, path in inputs.items()]
        if isinstance(inputs, Mapping)
        else [(data_name(Path(path)), Path(path)) for path in inputs]
    )
    named = {_TAG_UNSAFE.sub("_", name): path for name, path in pairs}
    if len(named) != len(pairs):
        raise ValueError(f"input data names collide: {sorted(name for name, _ in pairs)}")
    return named


def collect_lineage(
    *,
    input_paths: Sequence[Path | str] | Mapping[str, Path | str] = (),
    resolve: str | None = None,
    params: Mapping[str, Any] | None = None,
    lockfile: Path | None = None,
    repo: Path | None = None,
    dvc_locks: Sequence[Path] | None = None,
) -> Lineage:
    """Inputs must exist; git and the lockfile are best effort and read ``unknown`` when absent.

    ``input_paths`` given as a mapping names each input explicitly; ``repo`` is where git runs
    (default: the project root, else the cwd); ``dvc_locks`` replaces the search for dvc.lock files.
    The tree counts as clean while only the DVC pipelines' own writes (lock files, stage outputs)
    differ from the commit.
    """
    named = _named(input_paths)
    hashes = data_hashes(list(named.values()), dvc_locks=dvc_locks)
    where = repo or find_project_root() or Path.cwd()
    pipelines = find_dvc_root(where)
    writes = PipelineWrites.under(pipelines) if pipelines is not None else None
    git = git_state(where, ignore=writes.wrote if writes is not None else None)
    return Lineage(
        git_commit=git.commit,
        git_dirty=git.dirty,
        data_hashes={name: found.md5 for name, found in zip(named, hashes, strict=True)},
        lockfile_sha256=lockfile_sha256(resolve, path=lockfile) or UNKNOWN,
        resolve=resolve or UNKNOWN,
        params=flatten_params(params or {}),
    )
