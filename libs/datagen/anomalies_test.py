import numpy as np
import pandas as pd
import pytest

from libs.datagen import World, WorldConfig, generate_world


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig(n_transactions=50_000))


@pytest.fixture(scope="module")
def scored(world: World) -> pd.DataFrame:
    """Transactions with the features an unsupervised detector sees, and the held-back label."""
    frame = world.transactions.merge(world.products, on="product_id").merge(
        world.anomaly_labels, on="transaction_id"
    )
    frame["price_ratio"] = frame["unit_price"] / frame["base_price"]
    frame["hour"] = frame["ts"].dt.hour
    frame["amount_ratio"] = frame["amount"] / frame.groupby("product_id")["amount"].transform("median")
    return frame


@pytest.mark.parametrize(("rate", "n"), [(0.01, 20_000), (0.05, 3_001), (0.0, 1_000)])
def test_anomaly_count_is_the_rate(rate: float, n: int) -> None:
    labels = generate_world(WorldConfig(n_transactions=n, anomaly_rate=rate)).anomaly_labels
    assert int(labels["is_anomaly"].sum()) == round(rate * n)


def test_labels_stay_out_of_the_transactions(world: World) -> None:
    assert "is_anomaly" not in world.transactions.columns


def test_anomalies_have_far_higher_amounts(scored: pd.DataFrame) -> None:
    anomalous = scored["is_anomaly"]
    assert (
        scored.loc[anomalous, "amount_ratio"].median() > 5 * scored.loc[~anomalous, "amount_ratio"].median()
    )


def test_every_anomaly_is_far_out_on_a_detector_feature(scored: pd.DataFrame) -> None:
    """A simple rule on quantity, price ratio and hour separates them; the detector has more to go on."""
    normal_quantity_ceiling = scored.loc[~scored["is_anomaly"], "quantity"].quantile(0.999)
    rule = (
        (scored["quantity"] > normal_quantity_ceiling)
        | ~scored["price_ratio"].between(0.5, 2.0)
        | (scored["hour"] < 6)
    )
    assert rule[scored["is_anomaly"]].mean() > 0.95
    assert rule[~scored["is_anomaly"]].mean() < 0.005


def test_anomalies_mix_the_kinds(scored: pd.DataFrame) -> None:
    anomalies = scored[scored["is_anomaly"]]
    assert (anomalies["quantity"] >= 40).mean() > 0.3
    assert (anomalies["price_ratio"] > 3).mean() > 0.25
    assert (anomalies["price_ratio"] < 0.25).mean() > 0.05
    assert anomalies["hour"].between(2, 3).mean() > 0.25
    assert np.isfinite(anomalies["amount"]).all()
