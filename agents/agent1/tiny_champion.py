"""A real agent1 model trained in seconds on synthetic transactions, bundled like the export stage.

Service tests and the coordinator's end-to-end test use it instead of a full pipeline run; it is
never imported by the service, so it never ships in the image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from agents.agent1.model import FEATURES, AnomalyScorer
from libs.modelfiles.bundle import Champion, read_champion_bundle, write_champion

MODEL_NAME = "agent1-transaction-sentinel"


def tiny_transactions(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "log_amount": np.log1p(rng.gamma(2.0, 15.0, n)),
            "quantity": rng.integers(1, 5, n).astype(float),
            "price_ratio": rng.normal(1.0, 0.05, n).clip(0.5),
            "hour_of_day": rng.integers(8, 21, n).astype(float),
            "amount_zscore": rng.normal(0.0, 1.0, n),
        },
        columns=FEATURES,
    )


def train_tiny_champion(directory: Path, *, version: str = "1") -> Champion:
    model = AnomalyScorer(n_estimators=50, random_state=0).fit(tiny_transactions())
    write_champion(model, model_name=MODEL_NAME, model_version=version, directory=directory)
    return read_champion_bundle(directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    train_tiny_champion(parser.parse_args().out)
