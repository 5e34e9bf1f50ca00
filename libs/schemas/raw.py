"""Contracts for the raw tables ``libs.datagen`` writes and every agent reads.

Strict and uncoerced: an extra column, a missing one or a wrong dtype means the producer broke the
contract, and silently converting would hide it. Timestamps are naive (no time zone).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

REGIONS = ["north", "south", "east", "west"]
CATEGORIES = ["grocery", "household", "electronics", "apparel"]
SEGMENTS = ["budget", "regular", "premium"]
MAX_QUANTITY = 10_000
MAX_UNIT_PRICE = 100_000.0
AMOUNT_TOLERANCE = 0.01  # amount is quantity x unit price rounded to cents
# Dates outside these are a broken producer (an epoch-zero default, a year typed as 2600), not history.
EARLIEST = pd.Timestamp("2000-01-01")
LATEST = pd.Timestamp("2100-01-01")


class _RawModel(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class StoreSchema(_RawModel):
    store_id: Series[int] = pa.Field(ge=1, unique=True)
    region: Series[str] = pa.Field(isin=REGIONS)
    size_sqm: Series[float] = pa.Field(gt=0)


class ProductSchema(_RawModel):
    product_id: Series[int] = pa.Field(ge=1, unique=True)
    category: Series[str] = pa.Field(isin=CATEGORIES)
    base_price: Series[float] = pa.Field(gt=0, lt=MAX_UNIT_PRICE)


class CustomerSchema(_RawModel):
    customer_id: Series[int] = pa.Field(ge=1, unique=True)
    home_store_id: Series[int] = pa.Field(ge=1)
    segment: Series[str] = pa.Field(isin=SEGMENTS)
    signup_date: Series[pd.Timestamp] = pa.Field(ge=EARLIEST, lt=LATEST)
    churn_date: Series[pd.Timestamp] = pa.Field(
        nullable=True, ge=EARLIEST, lt=LATEST
    )  # NaT: still active at the period's end

    @pa.dataframe_check(error="churn_date must be after signup_date")
    @classmethod
    def churn_after_signup(cls, df: pd.DataFrame) -> pd.Series:
        if not {"signup_date", "churn_date"} <= set(df.columns):
            return pd.Series(True, index=df.index)  # the missing column is reported on its own
        return df["churn_date"].isna() | (df["churn_date"] > df["signup_date"])


class TransactionSchema(_RawModel):
    transaction_id: Series[int] = pa.Field(ge=1, unique=True)
    ts: Series[pd.Timestamp] = pa.Field(ge=EARLIEST, lt=LATEST)
    customer_id: Series[int] = pa.Field(ge=1)
    store_id: Series[int] = pa.Field(ge=1)
    product_id: Series[int] = pa.Field(ge=1)
    quantity: Series[int] = pa.Field(ge=1, le=MAX_QUANTITY)
    unit_price: Series[float] = pa.Field(gt=0, lt=MAX_UNIT_PRICE)
    promo: Series[bool]
    amount: Series[float] = pa.Field(ge=0)

    @pa.dataframe_check(error=f"amount must equal quantity x unit_price within {AMOUNT_TOLERANCE}")
    @classmethod
    def amount_matches(cls, df: pd.DataFrame) -> pd.Series:
        if not {"quantity", "unit_price", "amount"} <= set(df.columns):
            return pd.Series(True, index=df.index)
        expected = df["quantity"] * df["unit_price"]
        return (df["amount"] - expected).abs() <= AMOUNT_TOLERANCE


class AnomalyLabelSchema(_RawModel):
    """Ground truth for evaluating agent1 only; no training stage may read it."""

    transaction_id: Series[int] = pa.Field(ge=1, unique=True)
    is_anomaly: Series[bool]
