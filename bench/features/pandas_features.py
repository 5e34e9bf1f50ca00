"""The pandas contender: agent2's ``features.sql`` written as plain vectorised pandas.

Step for step the same query: transactions less the ones agent1 flagged (an anti-join), summed per store,
product and day; a complete store x product x calendar grid from the first to the last day of those
sales (days without sales are zeros); lags 1/7/14 and rolling means over the 7 and 28 preceding rows
per series; DuckDB's ``dayofweek`` (Sunday = 0); the holdout split; rows without a 14-day lag dropped;
ordered by store, product, date.
Each Parquet file is read with only the columns the query uses, as DuckDB's scan does on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

KEYS = ["store_id", "product_id"]
TRANSACTION_COLUMNS = ["transaction_id", "ts", "store_id", "product_id", "quantity", "promo"]
LAGS = (1, 7, 14)
ROLLING_WINDOWS = (7, 28)
COLUMNS = [
    *KEYS,
    "date",
    "quantity",
    *(f"lag_{lag}" for lag in LAGS),
    *(f"rolling_mean_{window}" for window in ROLLING_WINDOWS),
    "day_of_week",
    "month",
    "promo_share",
    "split",
]


def daily_demand(transactions: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Units and promo share per store, product and day, from the transactions agent1 did not flag."""
    flagged = scores.loc[scores["is_flagged"], "transaction_id"]
    clean = transactions.loc[~transactions["transaction_id"].isin(flagged)]
    day = clean["ts"].dt.normalize().rename("date")
    return clean.groupby([clean["store_id"], clean["product_id"], day]).agg(
        quantity=("quantity", "sum"), promo_share=("promo", "mean")
    )


def complete_grid(
    daily: pd.DataFrame, stores: pd.DataFrame, products: pd.DataFrame, calendar: pd.DatetimeIndex
) -> pd.DataFrame:
    """Every store x product x day, sorted; a day without sales has quantity 0 and promo share 0."""
    grid = pd.MultiIndex.from_product(
        [np.sort(stores["store_id"].to_numpy()), np.sort(products["product_id"].to_numpy()), calendar],
        names=[*KEYS, "date"],
    )
    filled = daily.reindex(grid, fill_value=0).reset_index()
    return filled.astype({"quantity": "float64", "promo_share": "float64"})


def add_history(filled: pd.DataFrame) -> pd.DataFrame:
    """Lags and means over the preceding rows of each series (the SQL's ``ROWS n PRECEDING``)."""
    series = filled.groupby(KEYS, sort=False)["quantity"]
    for lag in LAGS:
        filled[f"lag_{lag}"] = series.shift(lag)
    previous = filled.groupby(KEYS, sort=False)["lag_1"]  # row i sees quantities up to row i-1
    for window in ROLLING_WINDOWS:
        means = previous.rolling(window, min_periods=1).mean()
        filled[f"rolling_mean_{window}"] = means.droplevel(list(range(len(KEYS))))
    return filled


def build_features(
    transactions: pd.DataFrame,
    scores: pd.DataFrame,
    stores: pd.DataFrame,
    products: pd.DataFrame,
    holdout_days: int,
) -> pd.DataFrame:
    daily = daily_demand(transactions, scores)
    days = daily.index.get_level_values("date")
    first, last = days.min(), days.max()
    calendar = pd.date_range(first, last, freq="D", name="date")
    frame = add_history(complete_grid(daily, stores, products, calendar))
    dates = frame["date"].dt
    frame["day_of_week"] = ((dates.day_of_week + 1) % 7).astype("float64")  # pandas: Monday = 0
    frame["month"] = dates.month.astype("float64")
    holdout_after = last - pd.Timedelta(days=holdout_days)
    frame["split"] = np.where(frame["date"] > holdout_after, "holdout", "train")
    featured = frame.loc[frame["lag_14"].notna(), COLUMNS]
    return featured.sort_values([*KEYS, "date"], kind="stable").reset_index(drop=True)


def pandas_features(tables: Mapping[str, Path], holdout_days: int) -> pd.DataFrame:
    return build_features(
        pd.read_parquet(tables["transactions"], columns=TRANSACTION_COLUMNS),
        pd.read_parquet(tables["scores"], columns=["transaction_id", "is_flagged"]),
        pd.read_parquet(tables["stores"], columns=["store_id"]),
        pd.read_parquet(tables["products"], columns=["product_id"]),
        holdout_days,
    )
