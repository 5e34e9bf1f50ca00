"""What a DVC pipeline run writes into its repository: every ``dvc.lock``, every stage's outputs and
the ``.gitignore`` files DVC keeps beside outputs so git never tracks them.

A stage that records lineage runs while DVC is rewriting the lock files of the stages before it, so
``git status`` of a fresh clone is not clean mid-run although no code differs from the commit. The
lineage's dirty flag ignores exactly these paths and nothing else: an edited source, params or
``dvc.yaml`` file still makes the run dirty.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LOCK_FILE = "dvc.lock"
GITIGNORE = ".gitignore"
PIPELINE_FILE = "dvc.yaml"
OUTPUT_KEYS = ("outs", "metrics", "plots")
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})


def _pipeline_files(root: Path) -> Iterator[Path]:
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith(".") and name not in _SKIPPED_DIRS)
        yield from (Path(current) / name for name in (PIPELINE_FILE, LOCK_FILE) if name in files)


def _declared_outputs(dvc_yaml: Path) -> Iterator[Path]:
    try:
        data: Any = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return
    stages = data.get("stages") if isinstance(data, dict) else None
    for stage in stages.values() if isinstance(stages, dict) else []:
        if not isinstance(stage, dict):
            continue
        base = dvc_yaml.parent / str(stage.get("wdir", "."))
        for key in OUTPUT_KEYS:
            for entry in stage.get(key) or []:
                name = (
                    entry
                    if isinstance(entry, str)
                    else next(iter(entry), None) if isinstance(entry, dict) else None
                )
                if isinstance(name, str):
                    yield Path(os.path.normpath(base / name))


@dataclass(frozen=True)
class PipelineWrites:
    locks: frozenset[Path]
    outputs: frozenset[Path]

    @classmethod
    def under(cls, root: Path) -> PipelineWrites:
        """Every pipeline below ``root`` (hidden folders are not searched), paths made absolute."""
        locks: set[Path] = set()
        outputs: set[Path] = set()
        for path in _pipeline_files(root.resolve()):
            if path.name == LOCK_FILE:
                locks.add(path)
            else:
                locks.add(path.with_name(LOCK_FILE))
                outputs.update(_declared_outputs(path))
        return cls(frozenset(locks), frozenset(outputs))

    def wrote(self, path: Path) -> bool:
        """Whether ``path`` (absolute) is a lock file, DVC's .gitignore beside an output, an output,
        or lies inside an output folder."""
        resolved = Path(os.path.normpath(path))
        if resolved.name == GITIGNORE and any(output.parent == resolved.parent for output in self.outputs):
            return True
        return resolved in self.locks or any(
            resolved == output or output in resolved.parents for output in self.outputs
        )
