import numpy as np
import pandas as pd
import pytest

from libs.datagen import WorldConfig, generate_world

N_DAYS = 300


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    grid = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def _windows(drift: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normal transactions before and inside the last third, with the price ratio to base price."""
    world = generate_world(WorldConfig(n_transactions=30_000, n_days=N_DAYS, drift=drift))
    frame = world.transactions.merge(world.products, on="product_id").merge(
        world.anomaly_labels, on="transaction_id"
    )
    frame = frame[~frame["is_anomaly"]].assign(price_ratio=lambda f: f["unit_price"] / f["base_price"])
    last_third = frame["ts"] >= pd.Timestamp("2024-01-01") + pd.Timedelta(days=N_DAYS - N_DAYS // 3)
    return frame[~last_third], frame[last_third]


@pytest.mark.parametrize("drift", [False, True])
def test_drift_shifts_prices_and_baskets_only_when_switched_on(drift: bool) -> None:
    before, after = _windows(drift)
    ks = ks_statistic(before["price_ratio"].to_numpy(), after["price_ratio"].to_numpy())
    price_shift = after["price_ratio"].mean() / before["price_ratio"].mean()
    quantity_shift = after["quantity"].mean() / before["quantity"].mean()
    if drift:
        assert ks > 0.5
        assert price_shift == pytest.approx(1.25, abs=0.05)
        assert quantity_shift > 1.15
    else:
        assert ks < 0.05
        assert price_shift == pytest.approx(1.0, abs=0.02)
        assert quantity_shift == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize("drift", [False, True])
def test_drift_moves_the_store_mix_only_when_switched_on(drift: bool) -> None:
    before, after = _windows(drift)
    share_before = (before["store_id"] == 1).mean()
    share_after = (after["store_id"] == 1).mean()
    if drift:
        assert share_after > share_before + 0.05
    else:
        assert share_after == pytest.approx(share_before, abs=0.03)


def test_drift_brings_budget_heavy_signups_in_the_last_third() -> None:
    late = pd.Timestamp("2024-01-01") + pd.Timedelta(days=N_DAYS - N_DAYS // 3)
    shares = {}
    for drift in (False, True):
        customers = generate_world(
            WorldConfig(n_customers=4_000, n_transactions=1_000, n_days=N_DAYS, drift=drift)
        ).customers
        shares[drift] = (customers.loc[customers["signup_date"] >= late, "segment"] == "budget").mean()
    assert shares[True] > shares[False] + 0.2
