from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from agents.agent3.model import FEATURES, build_model
from libs.modelfiles import load_model, save_model

FORMULAS = ["revenue_per_visit = revenue / visits", "recency_share = recency_days / (tenure_days + 1)"]
PASSTHROUGH = ["observed_days", "visits_last_28d", "visits_prior_28d", "is_budget", "is_premium"]


def customers(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "revenue": rng.gamma(2.0, 100.0, n),
            "visits": rng.integers(0, 30, n).astype(float),
            "recency_days": rng.integers(0, 120, n).astype(float),
            "tenure_days": rng.integers(30, 700, n).astype(float),
            "avg_basket": rng.gamma(2.0, 10.0, n),
            "distinct_products": rng.integers(1, 20, n).astype(float),
            **{column: rng.integers(0, 2, n).astype(float) for column in PASSTHROUGH},
        }
    )
    churned = (frame["recency_days"] / (frame["tenure_days"] + 1) + rng.normal(0, 0.05, n)) > 0.15
    return frame, churned.to_numpy()


def test_formula_pipeline_learns_and_survives_a_round_trip(tmp_path: Path) -> None:
    frame, churned = customers(600)
    model = build_model(FORMULAS, regularization=1.0, max_iter=1000).fit(frame[FEATURES], churned)
    holdout, holdout_churned = customers(300, seed=1)
    probabilities = model.predict_proba(holdout[FEATURES])[:, 1]
    assert roc_auc_score(holdout_churned, probabilities) > 0.8
    assert ((probabilities >= 0) & (probabilities <= 1)).all()

    loaded = load_model(save_model(model, tmp_path / "model.skops"))
    np.testing.assert_allclose(loaded.predict_proba(holdout[FEATURES])[:, 1], probabilities)  # type: ignore[attr-defined]


def test_zero_visits_do_not_produce_infinities() -> None:
    frame, churned = customers(200)
    frame.loc[:20, "visits"] = 0.0
    model = build_model(FORMULAS, regularization=1.0, max_iter=1000).fit(frame[FEATURES], churned)
    assert np.isfinite(model.predict_proba(frame[FEATURES])).all()
