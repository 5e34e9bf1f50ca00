"""The command line: refuse cleanly (exit 2, nothing changed) or create the agent and say what next."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.new_agent.edits import RepositoryShapeError
from tools.new_agent.names import KINDS, Refusal
from tools.new_agent.render import Names
from tools.new_agent.scaffold import plan
from tools.new_agent.transaction import apply

MARKERS = ("pants.toml", "pants-plugins/macros.py")


def find_root(start: Path) -> Path:
    for directory in (start, *start.parents):
        if all((directory / marker).is_file() for marker in MARKERS):
            return directory
    raise Refusal(f"{start} is not inside this repository (no {' and '.join(MARKERS)} above it)")


def next_steps(names: Names) -> str:
    agent = names.agent
    return f"""Created agent {agent} ({names.kind}), model {names.model_name}, service {names.service_class}.
Next:
  ./pants test agents/{agent}:: services/{agent}::      unit and service tests
  ./pants package agents/{agent}:pipeline && MLOPS_STAGE_PEX_DIR=$PWD/dist \\
    ./pants run :dvc -- repro pipelines/{agent}/dvc.yaml   train, gate, register, export
  ./pants package agents/{agent}:image                  the serving image
Then make it yours: agents/{agent}/model.py (the model), features.sql (the features),
pipelines/{agent}/params.yaml (params and gate margin), services/{agent}/service.py and
libs/messages (the request and answer types), agents/{agent}/README.md (the model card)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="new-agent", description="Scaffold a complete agent.")
    parser.add_argument("name", help="a lowercase Python identifier, e.g. fraud_scorer")
    parser.add_argument("--kind", required=True, choices=KINDS)
    parser.add_argument("--like", help="agent resolve whose lockfile to copy (default: the first)")
    parser.add_argument("--root", type=Path, help="repository root (default: found from the cwd)")
    args = parser.parse_args(argv)
    try:
        root = find_root((args.root or Path.cwd()).resolve())
        change = plan(root, args.name, args.kind, like=args.like)
        written = apply(root, change)
    except (Refusal, RepositoryShapeError) as error:
        print(f"new-agent: refused: {error}. Nothing was changed.", file=sys.stderr)
        return 2
    print("\n".join(f"  {path}" for path in written))
    print(next_steps(Names(agent=args.name, kind=args.kind)))
    return 0
