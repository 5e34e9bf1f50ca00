"""Child process: writes one size's inputs with the project's generator plus a synthetic agent1 ``scores``.

``python -m bench.features.generate --out DIR --n-transactions N [--seed S]``. The world comes from
``libs.datagen`` exactly as the data pipeline makes it; only ``n_transactions`` and ``seed`` differ from
its defaults. The scores stand in for agent1's output (same columns as ``TransactionScoreSchema``):
a seeded uniform ``anomaly_score`` per transaction, flagged above ``1 - flag_rate``, so about 1% of
the history is dropped, as when agent1 flags the injected anomalies.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from bench.features.cache import MANIFEST, InputSpec, write_json
from libs.datagen import WorldConfig, generate_world, write_world


def synthesize_scores(transaction_id: np.ndarray, seed: int, flag_rate: float) -> pd.DataFrame:
    score = np.random.default_rng(seed).random(len(transaction_id))
    return pd.DataFrame(
        {
            "transaction_id": transaction_id.astype(np.int64),
            "anomaly_score": score,
            "is_flagged": score >= 1.0 - flag_rate,
            "model_version": "bench",
        }
    )


def write_inputs(folder: Path, spec: InputSpec) -> None:
    """The world's five tables and ``scores.parquet``, then the manifest that marks them complete."""
    (folder / MANIFEST).unlink(missing_ok=True)
    config = WorldConfig(seed=spec.seed, n_transactions=spec.n_transactions)
    world = generate_world(config)
    write_world(world, folder)
    transaction_id = world.transactions["transaction_id"].to_numpy()
    del world  # the scores need only the ids; at 10M the rest of the world is gigabytes
    synthesize_scores(transaction_id, spec.scores_seed, spec.flag_rate).to_parquet(
        folder / "scores.parquet", index=False
    )
    write_json({"request": spec.request(), "world": dataclasses.asdict(config)}, folder / MANIFEST)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.features.generate", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n-transactions", type=int, required=True)
    parser.add_argument("--seed", type=int, default=InputSpec.seed)
    parser.add_argument("--scores-seed", type=int, default=InputSpec.scores_seed)
    parser.add_argument("--flag-rate", type=float, default=InputSpec.flag_rate)
    args = parser.parse_args(argv)
    spec = InputSpec(args.n_transactions, args.seed, args.scores_seed, args.flag_rate)
    args.out.mkdir(parents=True, exist_ok=True)
    write_inputs(args.out, spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
