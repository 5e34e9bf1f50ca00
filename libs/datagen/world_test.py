import numpy as np
import pandas as pd
import pytest

from libs.datagen import World, WorldConfig, generate_world

TABLES = ["stores", "products", "customers", "transactions", "anomaly_labels"]
DTYPES = {
    "stores": {"store_id": "int64", "region": "str", "size_sqm": "float64"},
    "products": {"product_id": "int64", "category": "str", "base_price": "float64"},
    "customers": {
        "customer_id": "int64",
        "home_store_id": "int64",
        "segment": "str",
        "signup_date": "datetime64[ns]",
        "churn_date": "datetime64[ns]",
    },
    "transactions": {
        "transaction_id": "int64",
        "ts": "datetime64[ns]",
        "customer_id": "int64",
        "store_id": "int64",
        "product_id": "int64",
        "quantity": "int64",
        "unit_price": "float64",
        "promo": "bool",
        "amount": "float64",
    },
    "anomaly_labels": {"transaction_id": "int64", "is_anomaly": "bool"},
}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig())


def _normal(world: World) -> pd.DataFrame:
    return world.transactions[~world.anomaly_labels["is_anomaly"].to_numpy()]


def test_same_config_gives_identical_tables(world: World) -> None:
    again = generate_world(WorldConfig())
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name))


def test_another_seed_gives_another_world(world: World) -> None:
    other = generate_world(WorldConfig(seed=43))
    assert not world.transactions["customer_id"].equals(other.transactions["customer_id"])


def test_more_transactions_leave_the_entities_unchanged(world: World) -> None:
    bigger = generate_world(WorldConfig(n_transactions=30_000))
    for name in ["stores", "products", "customers"]:
        pd.testing.assert_frame_equal(getattr(world, name), getattr(bigger, name))


@pytest.mark.parametrize(
    "config",
    [
        WorldConfig(n_transactions=1_234, n_customers=50, n_stores=3, n_products=7, n_days=30),
        WorldConfig(n_transactions=5_000, n_stores=12, n_products=60),
    ],
)
def test_sizes_are_honoured(config: WorldConfig) -> None:
    world = generate_world(config)
    assert len(world.transactions) == len(world.anomaly_labels) == config.n_transactions
    assert len(world.customers) == config.n_customers
    assert list(world.stores["store_id"]) == list(range(1, config.n_stores + 1))
    assert list(world.products["product_id"]) == list(range(1, config.n_products + 1))
    days = world.transactions["ts"].dt.normalize()
    assert days.min() >= pd.Timestamp(config.start_date)
    assert days.max() < pd.Timestamp(config.start_date) + pd.Timedelta(days=config.n_days)


def test_columns_and_dtypes_are_the_contract(world: World) -> None:
    for name, expected in DTYPES.items():
        frame = getattr(world, name)
        assert list(frame.columns) == list(expected), name
        for column, dtype in expected.items():
            if dtype == "str":
                assert pd.api.types.is_string_dtype(frame[column]), (name, column)
            else:
                assert frame[column].dtype == np.dtype(dtype), (name, column, frame[column].dtype)


def test_vocabularies_are_fully_used(world: World) -> None:
    assert set(world.stores["region"]) == {"north", "south", "east", "west"}
    assert set(world.products["category"]) == {"grocery", "household", "electronics", "apparel"}
    assert set(world.customers["segment"]) == {"budget", "regular", "premium"}


def test_keys_are_unique_and_references_resolve(world: World) -> None:
    tx = world.transactions
    assert (tx["transaction_id"].to_numpy() == np.arange(1, len(tx) + 1)).all()
    assert world.anomaly_labels["transaction_id"].equals(tx["transaction_id"])
    assert tx["customer_id"].isin(world.customers["customer_id"]).all()
    assert tx["store_id"].isin(world.stores["store_id"]).all()
    assert tx["product_id"].isin(world.products["product_id"]).all()
    assert world.customers["home_store_id"].isin(world.stores["store_id"]).all()


def test_transactions_are_sorted_by_time_then_id(world: World) -> None:
    tx = world.transactions
    assert tx["ts"].is_monotonic_increasing
    resorted = tx.sort_values(["ts", "transaction_id"], kind="stable")
    assert resorted.index.equals(tx.index)


def test_amounts_are_quantity_times_price_in_cents(world: World) -> None:
    tx = world.transactions
    assert (tx["quantity"] >= 1).all()
    assert (tx["unit_price"] > 0).all()
    np.testing.assert_array_equal(tx["amount"], np.round(tx["quantity"] * tx["unit_price"], 2))


def test_transactions_fall_inside_each_customers_lifetime(world: World) -> None:
    joined = world.transactions.merge(world.customers, on="customer_id")
    assert (joined["ts"] >= joined["signup_date"]).all()
    churned = joined["churn_date"].notna()
    assert (joined.loc[churned, "ts"] < joined.loc[churned, "churn_date"]).all()
    assert (
        world.customers["churn_date"].dropna()
        > world.customers["signup_date"][world.customers["churn_date"].notna()]
    ).all()


def test_a_third_or_so_of_customers_churn_within_the_period(world: World) -> None:
    end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=364)
    churn = world.customers["churn_date"]
    assert 0.25 <= churn.notna().mean() <= 0.45
    assert (churn.dropna() < end).all()


def test_visits_fade_in_the_weeks_before_churn() -> None:
    world = generate_world(WorldConfig(n_customers=2_000, n_transactions=100_000))
    joined = world.transactions.merge(world.customers, on="customer_id")
    days_left = (joined["churn_date"] - joined["ts"]).dt.days
    start = pd.Timestamp("2024-01-01")
    long_lived = world.customers["churn_date"] - world.customers["signup_date"].clip(
        lower=start
    ) > pd.Timedelta(days=200)
    ids = world.customers.loc[long_lived & world.customers["churn_date"].notna(), "customer_id"]
    mine = joined["customer_id"].isin(ids)
    last_four_weeks = (mine & days_left.between(0, 27)).sum()
    earlier_four_weeks = (mine & days_left.between(112, 139)).sum()
    assert last_four_weeks < 0.4 * earlier_four_weeks


def test_weekends_are_busier_than_weekdays(world: World) -> None:
    normal = _normal(world)
    daily = normal.groupby(normal["ts"].dt.normalize())["quantity"].sum()
    weekend = daily.index.day_of_week >= 5
    assert daily[weekend].mean() > 1.2 * daily[~weekend].mean()


def test_december_outsells_march(world: World) -> None:
    normal = _normal(world)
    daily = normal.groupby(normal["ts"].dt.normalize())["quantity"].sum()
    assert daily[daily.index.month == 12].mean() > 1.3 * daily[daily.index.month == 3].mean()


def test_promotions_sell_more_units_at_a_discount(world: World) -> None:
    normal = _normal(world).merge(world.products, on="product_id")
    by_product = normal.groupby(["product_id", "promo"])["quantity"].mean().unstack()
    assert (by_product[True] / by_product[False]).median() > 1.2
    price_ratio = normal["unit_price"] / normal["base_price"]
    promo_ratio = price_ratio[normal["promo"]]
    assert 0.7 < promo_ratio.median() < 0.9
    assert price_ratio[~normal["promo"]].between(0.9, 1.1).mean() > 0.99
    assert 0.1 < normal["promo"].mean() < 0.4


def test_normal_transactions_happen_in_opening_hours(world: World) -> None:
    hours = _normal(world)["ts"].dt.hour
    assert hours.between(7, 21).all()


def test_a_million_transactions_are_generated_quickly() -> None:
    """Guards against per-row Python loops creeping in: those take minutes at this size, not a second."""
    import time

    started = time.perf_counter()
    world = generate_world(WorldConfig(n_transactions=1_000_000))
    elapsed = time.perf_counter() - started
    assert len(world.transactions) == 1_000_000
    assert world.transactions["ts"].is_monotonic_increasing
    assert int(world.anomaly_labels["is_anomaly"].sum()) == 10_000
    assert elapsed < 20, f"1M transactions took {elapsed:.1f}s"
