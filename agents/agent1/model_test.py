import numpy as np
import pandas as pd
import pytest

from agents.agent1.model import FEATURES, AnomalyScorer


def normal_transactions(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "log_amount": rng.normal(3.0, 0.3, n),
            "quantity": rng.integers(1, 4, n).astype(float),
            "price_ratio": rng.normal(1.0, 0.05, n),
            "hour_of_day": rng.integers(9, 21, n).astype(float),
            "amount_zscore": rng.normal(0.0, 1.0, n),
        }
    )


def test_scores_are_percentiles_and_outliers_score_highest() -> None:
    scorer = AnomalyScorer(n_estimators=50, random_state=0).fit(normal_transactions(2000))
    batch = normal_transactions(200, seed=1)
    outlier = pd.DataFrame(
        [{"log_amount": 8.0, "quantity": 80.0, "price_ratio": 3.0, "hour_of_day": 3.0, "amount_zscore": 12.0}]
    )
    scores = scorer.predict(pd.concat([batch, outlier], ignore_index=True)[FEATURES])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[-1] == 1.0
    assert scores[-1] > np.quantile(scores[:-1], 0.99)
    assert scorer.flag(scores)[-1]
    assert scorer.flag(scores[:-1]).mean() < 0.05


def test_same_seed_same_scores() -> None:
    train = normal_transactions(500)
    first = AnomalyScorer(n_estimators=20, random_state=3).fit(train).predict(train)
    second = AnomalyScorer(n_estimators=20, random_state=3).fit(train).predict(train)
    np.testing.assert_array_equal(first, second)


def test_flag_quantile_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="flag_quantile"):
        AnomalyScorer(flag_quantile=1.5).fit(normal_transactions(50))


def test_a_matrix_in_feature_order_scores_exactly_like_a_dataframe() -> None:
    # Training passes DataFrames (columns picked by name); the service a bare float matrix.
    scorer = AnomalyScorer(n_estimators=30, random_state=0).fit(normal_transactions(500))
    batch = normal_transactions(200, seed=2)
    shuffled = batch[list(reversed(FEATURES))]
    np.testing.assert_array_equal(scorer.predict(batch[FEATURES].to_numpy()), scorer.predict(shuffled))
    with pytest.raises(ValueError, match="expected rows of 5 features"):
        scorer.predict(batch[FEATURES[:4]].to_numpy())
