"""The inputs every stage receives, so agents' stage functions take one argument and no globals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


def load_params(path: Path) -> dict[str, Any]:
    """Reads a params.yaml; DVC tracks the same file, so a changed value reruns just the stages using it."""
    if not path.is_file():
        raise FileNotFoundError(f"params file {path} does not exist")
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"params file {path} must hold a mapping, got {type(loaded).__name__}")
    return loaded


@dataclass(frozen=True)
class StageContext:
    agent: str
    params: dict[str, Any]
    params_path: Path
    raw_dir: Path
    work_dir: Path

    def section(self, name: str) -> dict[str, Any]:
        """One stage's params; a missing section is an error naming the file, not a KeyError in a stage."""
        value = self.params.get(name)
        if not isinstance(value, dict):
            raise KeyError(f"{self.params_path} has no '{name}' mapping")
        return value

    def raw(self, dataset: str) -> Path:
        return self.raw_dir / f"{dataset}.parquet"

    def out(self, name: str) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir / name

    def upstream(self, agent: str, name: str) -> Path:
        """An output of another agent's pipeline, e.g. agent1's scores that clean agent2's history."""
        return self.work_dir.parent / agent / name
