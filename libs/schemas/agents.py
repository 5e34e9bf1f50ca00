"""Contracts for the tables agents hand to each other and the feature tables they train on.

A producer's schema is strict (exactly its columns); a consumer's input schema names only the
columns it reads, so the producer may add columns without breaking it. A test proves agent1's
output satisfies agent2's input, which is the contract that matters between them.

Feature tables come out of DuckDB, whose dates arrive as microsecond datetimes, so ``date`` is
coerced to pandas' nanoseconds; every other column must already have its dtype.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

SPLITS = ["train", "holdout"]


class TransactionScoreSchema(pa.DataFrameModel):
    """agent1's output: one row per transaction; higher ``anomaly_score`` means more anomalous."""

    transaction_id: Series[int] = pa.Field(ge=1, unique=True)
    anomaly_score: Series[float] = pa.Field(ge=0.0, le=1.0)
    is_flagged: Series[bool]
    model_version: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        coerce = False


class CleanHistoryInputSchema(pa.DataFrameModel):
    """What agent2 reads from agent1's scores to drop flagged transactions from its history."""

    transaction_id: Series[int] = pa.Field(ge=1, unique=True)
    anomaly_score: Series[float] = pa.Field(ge=0.0, le=1.0)
    is_flagged: Series[bool]

    class Config:
        strict = False
        coerce = False


class DemandFeatureSchema(pa.DataFrameModel):
    """agent2's training rows: one per store, product and day; lags are null where history is short."""

    store_id: Series[int] = pa.Field(ge=1)
    product_id: Series[int] = pa.Field(ge=1)
    date: Series[pd.Timestamp] = pa.Field(coerce=True)
    quantity: Series[float] = pa.Field(ge=0)  # the target: units sold that day
    lag_1: Series[float] = pa.Field(ge=0, nullable=True)
    lag_7: Series[float] = pa.Field(ge=0, nullable=True)
    lag_14: Series[float] = pa.Field(ge=0, nullable=True)
    rolling_mean_7: Series[float] = pa.Field(ge=0, nullable=True)
    rolling_mean_28: Series[float] = pa.Field(ge=0, nullable=True)
    day_of_week: Series[float] = pa.Field(ge=0, le=6)
    month: Series[float] = pa.Field(ge=1, le=12)
    promo_share: Series[float] = pa.Field(ge=0, le=1)
    split: Series[str] = pa.Field(isin=SPLITS)

    class Config:
        strict = True
        coerce = False
        unique = ["store_id", "product_id", "date"]


class CustomerFeatureSchema(pa.DataFrameModel):
    """agent3's training rows: one per snapshot and customer active at it, with the churn label.

    A customer appears once per snapshot; the train/holdout split is by customer, so no customer's
    history is on both sides.
    """

    customer_id: Series[int] = pa.Field(ge=1)
    snapshot_ts: Series[pd.Timestamp] = pa.Field(coerce=True)
    revenue: Series[float] = pa.Field(ge=0)
    visits: Series[float] = pa.Field(ge=0)
    recency_days: Series[float] = pa.Field(ge=0)
    tenure_days: Series[float] = pa.Field(ge=0)
    observed_days: Series[float] = pa.Field(ge=0)
    avg_basket: Series[float] = pa.Field(ge=0)
    distinct_products: Series[float] = pa.Field(ge=0)
    visits_last_28d: Series[float] = pa.Field(ge=0)
    visits_prior_28d: Series[float] = pa.Field(ge=0)
    is_budget: Series[float] = pa.Field(isin=[0.0, 1.0])
    is_premium: Series[float] = pa.Field(isin=[0.0, 1.0])
    churned: Series[bool]
    split: Series[str] = pa.Field(isin=SPLITS)

    @pa.dataframe_check(error="a customer is in both the train and the holdout split")
    def customers_on_one_side(cls, frame: pd.DataFrame) -> bool:
        return bool((frame.groupby("customer_id")["split"].nunique() <= 1).all())

    class Config:
        strict = True
        coerce = False
        unique = ["customer_id", "snapshot_ts"]
