"""agent2's feature SQL on a hand-made history whose answers are known."""

from pathlib import Path

import pandas as pd
import pytest

from agents.agent2.stages import SQL_DIR
from libs.warehouse import load_sql, run_query


@pytest.fixture
def tables(tmp_path: Path) -> dict[str, Path]:
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    transactions = pd.DataFrame(
        {
            "transaction_id": range(1, 41),
            "ts": days + pd.Timedelta(hours=10),
            "customer_id": 1,
            "store_id": 1,
            "product_id": 1,
            "quantity": [day.day for day in days],  # quantity = day of month: lags are easy to check
            "unit_price": 2.0,
            "promo": False,
        }
    )
    transactions["amount"] = transactions["quantity"] * transactions["unit_price"]
    transactions = transactions.drop(index=[20, 21])  # two days without sales: zeros, not gaps
    transactions.loc[len(transactions)] = [
        999,
        days[30] + pd.Timedelta(hours=3),
        1,
        1,
        1,
        5000,
        2.0,
        False,
        10000.0,
    ]
    scores = pd.DataFrame(
        {
            "transaction_id": transactions["transaction_id"],
            "anomaly_score": 0.1,
            "is_flagged": transactions["transaction_id"] == 999,
            "model_version": "1",
        }
    )
    paths = {
        "transactions": transactions,
        "scores": scores,
        "stores": pd.DataFrame({"store_id": [1]}),
        "products": pd.DataFrame({"product_id": [1, 2]}),
    }
    for name, frame in paths.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    return {name: tmp_path / f"{name}.parquet" for name in paths}


def test_lags_rolling_means_zero_fill_and_flagged_rows_dropped(tables: dict[str, Path]) -> None:
    features = run_query(load_sql(SQL_DIR, "features"), tables=tables, params={"holdout_days": 7})
    product1 = features[features["product_id"] == 1].set_index("date")
    product2 = features[features["product_id"] == 2]

    jan31 = product1.loc[pd.Timestamp("2024-01-31")]
    assert jan31["quantity"] == 31  # the flagged 5000-unit transaction is not demand
    assert jan31["lag_1"] == 30
    assert jan31["lag_7"] == 24
    assert jan31["lag_14"] == 17
    assert jan31["rolling_mean_7"] == pytest.approx(sum(range(24, 31)) / 7)
    assert product1.loc[pd.Timestamp("2024-01-21"), "quantity"] == 0  # a day without sales
    assert (product2["quantity"] == 0).all()  # a product never sold still gets rows
    assert features["lag_14"].notna().all()
    assert (features["split"] == "holdout").sum() == 2 * 7
    assert features.loc[features["split"] == "holdout", "date"].min() == pd.Timestamp("2024-02-03")


def test_the_calendar_spans_the_unflagged_history_only(tables: dict[str, Path]) -> None:
    transactions = pd.read_parquet(tables["transactions"])
    late = transactions.iloc[[0]].assign(transaction_id=1000, ts=pd.Timestamp("2024-03-01 12:00"))
    pd.concat([transactions, late], ignore_index=True).to_parquet(tables["transactions"])
    scores = pd.read_parquet(tables["scores"])
    flagged = pd.DataFrame(
        {"transaction_id": [1000], "anomaly_score": 0.9, "is_flagged": True, "model_version": "1"}
    )
    pd.concat([scores, flagged], ignore_index=True).to_parquet(tables["scores"])

    features = run_query(load_sql(SQL_DIR, "features"), tables=tables, params={"holdout_days": 7})
    # A flagged sale three weeks after the last clean one adds no days of made-up zero demand.
    assert features["date"].max() == pd.Timestamp("2024-02-09")
    assert features.loc[features["split"] == "holdout", "date"].min() == pd.Timestamp("2024-02-03")
