"""``python -m libs.datagen --out DIR [...]``: generates a world and writes it as Parquet.

Settings come from a params file (``--params FILE --params-key data``, as DVC passes them) and
explicit flags, flags winning, so one params file drives the pipeline and a flag can override it for
a quick experiment.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from libs.datagen.config import WorldConfig
from libs.datagen.io import write_world
from libs.datagen.world import World, generate_world

FLAG_SETTINGS = ("seed", "n_transactions", "n_customers", "n_days", "drift")
DESCRIPTION = "Generates the synthetic retail world and writes its five tables as Parquet."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m libs.datagen", description=DESCRIPTION)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the five Parquet files to")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--n-transactions", type=int)
    parser.add_argument("--n-customers", type=int)
    parser.add_argument("--n-days", type=int)
    parser.add_argument("--drift", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--params", type=Path, help="YAML file holding the world's settings")
    parser.add_argument("--params-key", help="the mapping inside --params to read, e.g. 'data'")
    return parser


def load_params(path: Path, key: str | None) -> dict[str, object]:
    """The settings mapping from a YAML params file, or a ValueError saying what is wrong with it."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read params file {path}: {error}") from error
    if key is not None:
        if not isinstance(loaded, dict) or key not in loaded:
            raise ValueError(f"params file {path} has no '{key}' key")
        loaded = loaded[key]
    if not isinstance(loaded, dict):
        where = f"'{key}' in {path}" if key else str(path)
        raise ValueError(f"{where} must be a mapping of world settings, got {type(loaded).__name__}")
    return {str(name): value for name, value in loaded.items()}


def _summary(world: World, config: WorldConfig, out: Path, seconds: float) -> str:
    churned = int(world.customers["churn_date"].notna().sum())
    anomalies = int(world.anomaly_labels["is_anomaly"].sum())
    return (
        f"wrote {len(world.transactions):,} transactions ({anomalies:,} anomalies), "
        f"{len(world.customers):,} customers ({churned:,} churned), {len(world.stores)} stores, "
        f"{len(world.products)} products to {out} "
        f"(seed {config.seed}, {config.n_days} days from {config.start_date}, "
        f"drift {'on' if config.drift else 'off'}) in {seconds:.1f}s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.params_key is not None and args.params is None:
        parser.error("--params-key needs --params")
    try:
        settings = load_params(args.params, args.params_key) if args.params is not None else {}
        settings.update(
            {name: getattr(args, name) for name in FLAG_SETTINGS if getattr(args, name) is not None}
        )
        config = WorldConfig.from_mapping(settings)
    except ValueError as error:
        parser.error(str(error))
    started = time.perf_counter()
    world = generate_world(config)
    write_world(world, args.out)
    print(_summary(world, config, args.out, time.perf_counter() - started))
    return 0
