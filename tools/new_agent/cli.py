"""The command line: refuse cleanly (exit 2, nothing changed) or create the agent and say what next."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.new_agent.data_copy import DataCopyError, add_copy, remove_copy
from tools.new_agent.dataset import Dataset, check_file, read_dataset
from tools.new_agent.edits import RepositoryShapeError
from tools.new_agent.from_data import input_path
from tools.new_agent.names import KINDS, Refusal
from tools.new_agent.render import Names
from tools.new_agent.scaffold import plan
from tools.new_agent.transaction import apply

MARKERS = ("pants.toml", "pants-plugins/macros.py")
DATA_KINDS = ("classifier", "regressor")


def find_root(start: Path) -> Path:
    for directory in (start, *start.parents):
        if all((directory / marker).is_file() for marker in MARKERS):
            return directory
    raise Refusal(f"{start} is not inside this repository (no {' and '.join(MARKERS)} above it)")


def next_steps_from_data(names: Names) -> str:
    agent = names.agent
    return f"""Created agent {agent} ({names.kind}) on its own data, model {names.model_name},
service {names.service_class}. Its data: {input_path(agent)} (a copy, tracked by DVC);
its columns: agents/{agent}/columns.py.
Next (commit the new files, {input_path(agent)}.dvc among them):
  ./pants test agents/{agent}:: services/{agent}::      unit and service tests
  ./pants package agents/{agent}:pipeline && MLOPS_STAGE_PEX_DIR=$PWD/dist \\
    ./pants run :dvc -- repro pipelines/{agent}/dvc.yaml   train, gate, register, export
  ./pants package agents/{agent}:serve && python3.11 dist/agents.{agent}/serve.pex \\
    serve services.{agent}.service:{names.service_class} --host 127.0.0.1 --port 3100   serve it"""


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
    parser.add_argument("--data", type=Path, help="a .csv or .parquet file to build the agent on (only read)")
    parser.add_argument("--target", help="with --data: the column to predict")
    parser.add_argument(
        "--id", dest="id_column", help="with --data: a column grouping rows (kept on one side of the split)"
    )
    args = parser.parse_args(argv)
    try:
        root = find_root((args.root or Path.cwd()).resolve())
        data = _dataset(args)
        change = plan(root, args.name, args.kind, like=args.like, data=data)
        if data is not None:
            if (root / input_path(args.name)).parent.exists():
                raise Refusal(f"{(root / input_path(args.name)).parent} exists already")
            add_copy(root, data.source, input_path(args.name))
        try:
            written = apply(root, change)
        except BaseException:
            if data is not None:
                remove_copy(root, input_path(args.name))
            raise
    except (Refusal, RepositoryShapeError) as error:
        print(f"new-agent: refused: {error}. Nothing was changed.", file=sys.stderr)
        return 2
    except DataCopyError as error:
        print(f"new-agent: {error}\nNothing was changed.", file=sys.stderr)
        return 1
    names = Names(agent=args.name, kind=args.kind)
    print("\n".join(f"  {path}" for path in [*written, *([f"{input_path(args.name)}.dvc"] if data else [])]))
    print(next_steps(names) if data is None else next_steps_from_data(names))
    return 0


def _dataset(args: argparse.Namespace) -> Dataset | None:
    """The dataset named by --data, read and described; refusals for flags that do not fit."""
    if args.data is None:
        if args.target or args.id_column:
            raise Refusal("--target and --id describe a dataset: give it with --data")
        return None
    if args.kind not in DATA_KINDS:
        raise Refusal(f"--data builds {' and '.join(DATA_KINDS)} agents, not {args.kind}")
    if not args.target:
        raise Refusal("--data needs --target, the column to predict")
    check_file(args.data)
    try:
        import duckdb  # noqa: F401  (the tools resolve has it; a bare interpreter may not)
    except ImportError:
        raise Refusal("reading --data needs DuckDB: run it as ./pants run :new-agent -- ...") from None
    return read_dataset(args.data.resolve(), target=args.target, id_column=args.id_column, kind=args.kind)
