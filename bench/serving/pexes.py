"""The two programs the benchmark runs, built by Pants as production builds them.

BentoML is served from agent2's own ``serve`` PEX (what ./lifecycle and the image run); MLflow,
the export and the in-process loops run from ``bench/serving:model-tools``, in the same resolve,
so all three contenders use the same scikit-learn and the same fitted estimator.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVE_TARGET = "agents/agent2:serve"
TOOLS_TARGET = "bench/serving:model-tools"


@dataclass(frozen=True)
class Pexes:
    serve: Path
    tools: Path


def pex_path(root: Path, target: str) -> Path:
    """Where ``./pants package`` puts a pex_binary: dist/<folder with dots>/<name>.pex."""
    folder, name = target.split(":")
    return root / "dist" / folder.replace("/", ".") / f"{name}.pex"


def build(root: Path, *, package: bool = True) -> Pexes:
    pexes = Pexes(pex_path(root, SERVE_TARGET), pex_path(root, TOOLS_TARGET))
    if package:
        print(f"==> ./pants package {SERVE_TARGET} {TOOLS_TARGET}", flush=True)
        subprocess.run(["./pants", "package", SERVE_TARGET, TOOLS_TARGET], cwd=root, check=True)
    missing = [str(path) for path in (pexes.serve, pexes.tools) if not path.is_file()]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: run without --no-build")
    return pexes
