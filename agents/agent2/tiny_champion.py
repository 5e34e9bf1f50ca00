"""A real agent2 model trained in seconds on synthetic daily demand, bundled like the export stage.

Service tests and the coordinator's end-to-end test use it instead of a full pipeline run; it is
never imported by the service, so it never ships in the image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from agents.agent2.model import FEATURES, build_model
from libs.modelfiles.bundle import Champion, read_champion_bundle, write_champion

MODEL_NAME = "agent2-demand-forecaster"


def tiny_demand(n: int = 800, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    level = rng.gamma(2.0, 2.0, n)
    frame = pd.DataFrame(
        {
            "store_id": rng.integers(1, 4, n),
            "product_id": rng.integers(1, 6, n),
            "lag_1": rng.poisson(level).astype(float),
            "lag_7": rng.poisson(level).astype(float),
            "lag_14": rng.poisson(level).astype(float),
            "rolling_mean_7": level,
            "rolling_mean_28": level,
            "day_of_week": rng.integers(0, 7, n),
            "month": rng.integers(1, 13, n),
            "promo_share": rng.random(n),
        },
        columns=FEATURES,
    ).astype("float64")
    return frame, rng.poisson(level * (1 + frame["promo_share"].to_numpy())).astype(float)


def train_tiny_champion(directory: Path, *, version: str = "1") -> Champion:
    frame, quantity = tiny_demand()
    params = {"learning_rate": 0.1, "max_iter": 30, "max_leaf_nodes": 15, "random_state": 0}
    model = build_model(params).fit(frame, quantity)
    write_champion(model, model_name=MODEL_NAME, model_version=version, directory=directory)
    return read_champion_bundle(directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    train_tiny_champion(parser.parse_args().out)
