"""Request and response messages between services and agents, as pydantic models (BentoML's API IO).

Every message rejects unknown fields and NaN or infinite numbers: a misspelt field or a NaN feature
fails loudly at the boundary, with the field's name in the error, instead of producing a silent
nonsense prediction.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    # protected_namespaces=(): `model_name` and `model_version` are domain fields, not pydantic internals.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, protected_namespaces=())


class _ModelOutput(Message):
    """Every answer names the registered model and version that gave it, for lineage and rollbacks."""

    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)


class TransactionToScreen(Message):
    transaction_id: int = Field(ge=1)
    ts: dt.datetime
    customer_id: int = Field(ge=1)
    store_id: int = Field(ge=1)
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1)
    unit_price: float = Field(gt=0)
    promo: bool


class ScreeningResult(_ModelOutput):
    transaction_id: int = Field(ge=1)
    anomaly_score: float = Field(ge=0.0, le=1.0, description="Higher is more anomalous.")
    is_flagged: bool


class DemandQuery(Message):
    store_id: int = Field(ge=1)
    product_id: int = Field(ge=1)
    date: dt.date


class DemandForecast(_ModelOutput):
    store_id: int = Field(ge=1)
    product_id: int = Field(ge=1)
    date: dt.date
    predicted_quantity: float = Field(ge=0.0)


class CustomerProfile(Message):
    customer_id: int = Field(ge=1)
    revenue: float = Field(ge=0.0)
    visits: float = Field(ge=0.0)
    recency_days: float = Field(ge=0.0)
    tenure_days: float = Field(ge=0.0)
    avg_basket: float = Field(ge=0.0)
    distinct_products: float = Field(ge=0.0)


class ChurnAssessment(_ModelOutput):
    customer_id: int = Field(ge=1)
    churn_probability: float = Field(ge=0.0, le=1.0)
