"""Where the generated inputs of one benchmark size live, and whether what is there is what was asked for.

Generating 10M transactions takes the better part of a minute, so each size's inputs are kept under
``.local/bench/features/<n>/`` (ignored by git and Pants) and reused while their manifest matches the
request. The manifest is written last, so an interrupted generation is never mistaken for a cache hit.
Standard library only: the orchestrator imports this, and it must stay small (see ``measure``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench.report import project_root

MANIFEST = "manifest.json"
GENERATION = "generation.json"
# The views agent2's features.sql reads, each backed by <name>.parquet in a size's folder.
TABLES = ("transactions", "stores", "products", "scores")


@dataclass(frozen=True)
class InputSpec:
    """What a size's inputs are made from; the world's other settings are the generator's defaults."""

    n_transactions: int
    seed: int = 42
    scores_seed: int = 7
    flag_rate: float = 0.01

    def request(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def default_root() -> Path:
    return project_root() / ".local" / "bench" / "features"


def size_folder(root: Path, spec: InputSpec) -> Path:
    return root / str(spec.n_transactions)


def table_paths(folder: Path) -> dict[str, Path]:
    return {name: folder / f"{name}.parquet" for name in TABLES}


def read_json(path: Path) -> dict[str, object] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable (a stale cache, not an error)."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def write_json(payload: dict[str, object], path: Path) -> None:
    """Atomically: a reader sees the old file or the whole new one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def is_current(folder: Path, spec: InputSpec) -> bool:
    manifest = read_json(folder / MANIFEST)
    if manifest is None or manifest.get("request") != spec.request():
        return False
    return all(path.is_file() for path in table_paths(folder).values())
