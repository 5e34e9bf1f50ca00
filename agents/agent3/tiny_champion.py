"""A real agent3 model trained in seconds on synthetic customers, bundled like the export stage.

Service tests and the coordinator's end-to-end test use it instead of a full pipeline run; it is
never imported by the service, so it never ships in the image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from agents.agent3.model import FEATURES, build_model
from libs.modelfiles.bundle import Champion, read_champion_bundle, write_champion

MODEL_NAME = "agent3-churn-classifier"
FORMULAS = ["revenue_per_visit = revenue / visits", "visit_trend = visits_last_28d / (visits_prior_28d + 1)"]


def tiny_customers(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    visits = rng.integers(1, 40, n).astype(float)
    frame = pd.DataFrame(
        {
            "revenue": visits * rng.gamma(2.0, 10.0, n),
            "visits": visits,
            "recency_days": rng.integers(0, 90, n).astype(float),
            "tenure_days": rng.integers(60, 900, n).astype(float),
            "observed_days": rng.integers(60, 360, n).astype(float),
            "avg_basket": rng.gamma(2.0, 10.0, n),
            "distinct_products": rng.integers(1, 20, n).astype(float),
            "visits_last_28d": rng.integers(0, 8, n).astype(float),
            "visits_prior_28d": rng.integers(0, 8, n).astype(float),
            "is_budget": rng.integers(0, 2, n).astype(float),
            "is_premium": np.zeros(n),
        },
        columns=FEATURES,
    )
    churned = (frame["recency_days"] / 90 + rng.normal(0, 0.2, n)) > 0.7
    return frame, churned.to_numpy()


def train_tiny_champion(directory: Path, *, version: str = "1") -> Champion:
    frame, churned = tiny_customers()
    model = build_model(FORMULAS, regularization=1.0, max_iter=1000).fit(frame, churned)
    write_champion(model, model_name=MODEL_NAME, model_version=version, directory=directory)
    return read_champion_bundle(directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    train_tiny_champion(parser.parse_args().out)
